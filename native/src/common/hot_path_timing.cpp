#include "common/hot_path_timing.h"

#include <stdlib.h>
#include <string.h>

#include "common/clock.h"

namespace memnb {

HotPathTiming& HotPathTiming::get() {
  static HotPathTiming instance;
  return instance;
}

bool g_timing_on = HotPathTiming::get().enabled();

HotPathTiming::HotPathTiming() {
  const char* v = getenv("MEMNB_TIMING");
  enabled_ = v && strcmp(v, "1") == 0;
  tsc0_ = __rdtsc();
  ns0_ = monotonic_ns();
}

// The counter's rate from the time since startup (milliseconds at least by the time anyone reads).
double HotPathTiming::ns_per_cycle() const {
  uint64_t cycles = __rdtsc() - tsc0_;
  uint64_t ns = monotonic_ns() - ns0_;
  return cycles ? static_cast<double>(ns) / static_cast<double>(cycles) : 0.0;
}

void HotPathTiming::read(unsigned long long out[9]) const {
  double scale = ns_per_cycle();
  out[0] = timed_.load();
  for (int i = 0; i < kParts; ++i) out[1 + i] = static_cast<unsigned long long>(static_cast<double>(parts_[i].load()) * scale);
  out[6] = static_cast<unsigned long long>(static_cast<double>(gc_.load()) * scale);
  out[7] = writer_cpu_ns_.load();
  out[8] = static_cast<unsigned long long>(static_cast<double>(compression_.load()) * scale);
}

}  // namespace memnb
