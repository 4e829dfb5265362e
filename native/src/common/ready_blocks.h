// Blocks of memory made ready off the hot path: mapped, with their pages committed, by a thread
// that can spend the time (the writer) for one that would otherwise take a page fault per 4 KiB as
// it first writes them (an allocating thread whose lifetime log outgrows its blocks: on a deep
// recording those faults were ~1.5% of the allocating thread).
#pragma once
#include <sys/mman.h>

#include <atomic>
#include <cstddef>

namespace memnb {

// N slots that the writer fills while their owner asks (it took a block, or found none and mapped
// one itself), so that a workload whose memory no longer grows is given none.
template <int N>
class ReadyBlocks {
 public:
  explicit ReadyBlocks(size_t bytes) : bytes_(bytes) {}
  ReadyBlocks(const ReadyBlocks&) = delete;
  ReadyBlocks& operator=(const ReadyBlocks&) = delete;
  ~ReadyBlocks() { release(); }

  size_t bytes() const { return bytes_; }

  // The owner: a block of bytes() zeroed bytes whose pages are committed, or null. Asks for more
  // either way. Unmapped with munmap(block, bytes()).
  void* take() {
    wanted_.store(true, std::memory_order_relaxed);
    for (auto& slot : slots_)
      if (slot.load(std::memory_order_relaxed) != nullptr)
        if (void* block = slot.exchange(nullptr, std::memory_order_acquire)) return block;
    return nullptr;
  }

  // Another thread: fills the empty slots if the owner asked since the last fill.
  void refill() {
    if (!wanted_.load(std::memory_order_relaxed)) return;
    wanted_.store(false, std::memory_order_relaxed);
    for (auto& slot : slots_) {
      if (slot.load(std::memory_order_relaxed) != nullptr) continue;
      void* block = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
      if (block == MAP_FAILED) return;
      void* empty = nullptr;
      if (!slot.compare_exchange_strong(empty, block, std::memory_order_release, std::memory_order_relaxed))
        munmap(block, bytes_);
    }
  }

  // When neither side uses them any more: unmaps the blocks not taken.
  void release() {
    for (auto& slot : slots_)
      if (void* block = slot.exchange(nullptr, std::memory_order_acq_rel)) munmap(block, bytes_);
    wanted_.store(false, std::memory_order_relaxed);
  }

  int ready() const {
    int n = 0;
    for (auto& slot : slots_) n += slot.load(std::memory_order_relaxed) != nullptr;
    return n;
  }

 private:
  size_t bytes_;
  std::atomic<void*> slots_[N] = {};
  std::atomic<bool> wanted_{false};
};

}  // namespace memnb
