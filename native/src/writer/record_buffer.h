// A growable byte buffer for records built off the hot path (meta and GC streams).
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/varint.h"

namespace memnb {

class RecordBuffer {
 public:
  void u8(uint8_t v) { bytes_.push_back(v); }
  void varint(uint64_t v) {
    size_t at = bytes_.size();
    bytes_.resize(at + kMaxVarintBytes);
    uint8_t* end = put_varint(bytes_.data() + at, v);
    bytes_.resize(static_cast<size_t>(end - bytes_.data()));
  }
  void string(const std::string& s) {
    size_t n = s.size() > 65535 ? 65535 : s.size();
    varint(n);
    bytes_.insert(bytes_.end(), s.data(), s.data() + n);
  }
  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  void clear() { bytes_.clear(); }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace memnb
