// A growable byte buffer for records built off the hot path (meta and GC streams).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/varint.h"

namespace memnb {

class RecordBuffer {
 public:
  void u8(uint8_t v) {
    reserve(1);
    bytes_[size_++] = v;
  }
  void varint(uint64_t v) {
    reserve(kMaxVarintBytes);
    size_ = static_cast<size_t>(put_varint(bytes_.data() + size_, v) - bytes_.data());
  }
  void string(const std::string& s) {
    size_t n = s.size() > 65535 ? 65535 : s.size();
    varint(n);
    reserve(n);
    memcpy(bytes_.data() + size_, s.data(), n);
    size_ += n;
  }
  void raw(const uint8_t* data, size_t n) {
    reserve(n);
    memcpy(bytes_.data() + size_, data, n);
    size_ += n;
  }
  void append(const RecordBuffer& other) { raw(other.data(), other.size()); }
  void swap(RecordBuffer& other) {
    bytes_.swap(other.bytes_);
    std::swap(size_, other.size_);
  }
  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return size_; }
  void clear() { size_ = 0; }

 private:
  // bytes_ only grows; size_ is the used part (no zero-filling per append).
  void reserve(size_t more) {
    if (size_ + more > bytes_.size()) bytes_.resize(std::max<size_t>(64, 2 * (size_ + more)));
  }
  std::vector<uint8_t> bytes_;
  size_t size_ = 0;
};

}  // namespace memnb
