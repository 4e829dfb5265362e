// Where the hot path's time goes, for the overhead benchmark (bench/): with MEMNB_TIMING=1
// in the environment at startup, every 64th allocation of a thread is timed part by part
// with the time-stamp counter, and the GC callbacks, compression and the writer thread are
// timed whole. Off (one predictable branch per allocation) otherwise.
#pragma once
#include <atomic>
#include <cstdint>
#include <x86intrin.h>

namespace memnb {

// Whether MEMNB_TIMING=1 was set at startup: the hot path reads this plain flag (one
// predictable branch), never the counter, unless it is on.
extern bool g_timing_on;

class HotPathTiming {
 public:
  enum Part { kWalk, kIntern, kEncode, kLifetime, kHook, kParts };
  static constexpr uint32_t kEvery = 64;

  static HotPathTiming& get();
  bool enabled() const { return enabled_; }
  // Whether this allocation of the thread is one of the timed ones (callers check g_timing_on first).
  static bool sample(uint32_t* countdown) { return (++*countdown & (kEvery - 1)) == 0; }
  void add(Part part, uint64_t cycles) { parts_[part].fetch_add(cycles, std::memory_order_relaxed); }
  void timed_one() { timed_.fetch_add(1, std::memory_order_relaxed); }
  void add_gc(uint64_t cycles) { gc_.fetch_add(cycles, std::memory_order_relaxed); }
  void add_compression(uint64_t cycles) { compression_.fetch_add(cycles, std::memory_order_relaxed); }
  void add_writer_cpu_ns(uint64_t ns) { writer_cpu_ns_.fetch_add(ns, std::memory_order_relaxed); }

  // out[0] allocations timed; out[1..5] ns of walk, intern, encode+push, lifetime log and the
  // whole hook in them; out[6] ns in GC callbacks; out[7] writer thread CPU ns; out[8] ns
  // compressing (all since the process started).
  void read(unsigned long long out[9]) const;

 private:
  HotPathTiming();
  double ns_per_cycle() const;
  bool enabled_ = false;
  uint64_t tsc0_ = 0, ns0_ = 0;
  std::atomic<uint64_t> timed_{0};
  std::atomic<uint64_t> parts_[kParts] = {};
  std::atomic<uint64_t> gc_{0}, compression_{0}, writer_cpu_ns_{0};
};

// Cycles of a scope added to the GC or compression total when timing is on.
class TimedScope {
 public:
  enum Kind { kGc, kCompression };
  explicit TimedScope(Kind kind) : kind_(kind), start_(g_timing_on ? __rdtsc() : 0) {}
  ~TimedScope() {
    if (!start_) return;
    uint64_t cycles = __rdtsc() - start_;
    if (kind_ == kGc)
      HotPathTiming::get().add_gc(cycles);
    else
      HotPathTiming::get().add_compression(cycles);
  }
  TimedScope(const TimedScope&) = delete;
  TimedScope& operator=(const TimedScope&) = delete;

 private:
  Kind kind_;
  uint64_t start_;
};

}  // namespace memnb
