#include "common/clock.h"

#include <ctime>

namespace memnb {

static uint64_t read_clock(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t monotonic_ns() { return read_clock(CLOCK_MONOTONIC); }
uint64_t realtime_ns() { return read_clock(CLOCK_REALTIME); }

}  // namespace memnb
