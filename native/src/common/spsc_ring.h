// A single-producer single-consumer byte ring. The producer (an allocating thread)
// appends whole records and publishes them with one release store; the consumer (the
// writer thread) copies out everything published. No locks, no allocation after
// construction: the storage is one anonymous mapping committed as it is touched.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace memnb {

class SpscRing {
 public:
  // capacity must be a power of two.
  bool init(size_t capacity);
  void destroy();

  size_t capacity() const { return capacity_; }

  // Producer side.
  size_t free_space() const {
    return capacity_ - (head_.load(std::memory_order_relaxed) - tail_.load(std::memory_order_acquire));
  }
  size_t used() const {
    return head_.load(std::memory_order_relaxed) - tail_.load(std::memory_order_acquire);
  }
  // Copies len bytes and publishes them. The caller checked free_space() >= len.
  void push(const uint8_t* data, size_t len) {
    uint64_t head = head_.load(std::memory_order_relaxed);
    size_t at = head & (capacity_ - 1);
    size_t first = capacity_ - at < len ? capacity_ - at : len;
    memcpy(data_ + at, data, first);
    if (first < len) memcpy(data_, data + first, len - first);
    head_.store(head + len, std::memory_order_release);
  }
  // A record encoded in place: where n bytes are free before the end of the storage (the
  // caller checked free_space() >= n), where to write them; else nullptr (use push). Then
  // publish(len) with the length written, len <= n.
  uint8_t* contiguous(size_t n) {
    size_t at = head_.load(std::memory_order_relaxed) & (capacity_ - 1);
    return capacity_ - at >= n ? data_ + at : nullptr;
  }
  // Asks for the line `ahead` bytes past the producer's position to be brought in for writing, so
  // that the records stored there later do not wait on it (a store waiting for its line holds up
  // every locked instruction after it: the stack tree's atomic add and compare-and-swap).
  void prefetch_ahead(size_t ahead) const {
    __builtin_prefetch(data_ + ((head_.load(std::memory_order_relaxed) + ahead) & (capacity_ - 1)), 1);
  }
  void publish(size_t len) {
    head_.store(head_.load(std::memory_order_relaxed) + len, std::memory_order_release);
  }

  // Consumer side: the published extent, then copy [tail, upto) out and release it.
  uint64_t published() const { return head_.load(std::memory_order_acquire); }
  uint64_t consumed() const { return tail_.load(std::memory_order_relaxed); }
  void copy_out(uint64_t upto, uint8_t* out) const {
    uint64_t tail = tail_.load(std::memory_order_relaxed);
    size_t len = upto - tail;
    size_t at = tail & (capacity_ - 1);
    size_t first = capacity_ - at < len ? capacity_ - at : len;
    memcpy(out, data_ + at, first);
    if (first < len) memcpy(out + first, data_, len - first);
  }
  void release(uint64_t upto) { tail_.store(upto, std::memory_order_release); }

 private:
  uint8_t* data_ = nullptr;
  size_t capacity_ = 0;
  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
};

}  // namespace memnb
