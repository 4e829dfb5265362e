// A fixed, lock-free table from addresses (return addresses, code addresses) to small non-zero
// values, shared by all threads and read from hooks: the walker's frame kinds (classify) and the
// recorder's verdicts on on-stack-replacement sites. No allocation, no lock; a key is claimed by a
// compare-and-swap and its value published right after, so a reader that meets a claimed key
// waits for its value. The first value stored for a key stays. A neighbourhood of Probes slots
// that is full keeps nothing more: the caller computes its answer again next time.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace memnb {

template <size_t Slots, size_t Probes = 16>
class AddressTable {
  static_assert((Slots & (Slots - 1)) == 0, "Slots is a power of two");

 public:
  // The value stored for key, or 0 when there is none.
  uint64_t find(uint64_t key) const {
    size_t at = home(key);
    for (size_t probe = 0; probe < Probes; ++probe, at = (at + 1) & (Slots - 1)) {
      uint64_t k = slots_[at].key.load(std::memory_order_acquire);
      if (k == key) {
        uint64_t v;
        while ((v = slots_[at].value.load(std::memory_order_acquire)) == 0) {
        }
        return v;
      }
      if (k == 0) return 0;
    }
    return 0;
  }

  // Stores value (non-zero) for key, unless the key is there already or its neighbourhood is full.
  void insert(uint64_t key, uint64_t value) {
    size_t at = home(key);
    for (size_t probe = 0; probe < Probes; ++probe, at = (at + 1) & (Slots - 1)) {
      uint64_t k = 0;
      if (slots_[at].key.compare_exchange_strong(k, key, std::memory_order_acq_rel)) {
        slots_[at].value.store(value, std::memory_order_release);
        return;
      }
      if (k == key) return;
    }
  }

 private:
  static size_t home(uint64_t key) { return (key * 0x9E3779B97F4A7C15ull >> 40) & (Slots - 1); }
  struct Slot {
    std::atomic<uint64_t> key{0};
    std::atomic<uint64_t> value{0};
  };
  Slot slots_[Slots];
};

}  // namespace memnb
