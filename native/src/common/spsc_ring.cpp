#include "common/spsc_ring.h"

#include <sys/mman.h>

namespace memnb {

bool SpscRing::init(size_t capacity) {
  void* mem = mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) return false;
  data_ = static_cast<uint8_t*>(mem);
  capacity_ = capacity;
  head_.store(0, std::memory_order_relaxed);
  tail_.store(0, std::memory_order_relaxed);
  return true;
}

void SpscRing::destroy() {
  if (data_) munmap(data_, capacity_);
  data_ = nullptr;
  capacity_ = 0;
}

}  // namespace memnb
