// Timestamps: the time-stamp counter shifted right by kTickShift ("ticks"). The writer
// pairs ticks with CLOCK_MONOTONIC in CLOCK and SNAPSHOT records; readers convert.
#pragma once
#include <cstdint>
#include <x86intrin.h>

namespace memnb {

constexpr unsigned kTickShift = 4;

inline uint64_t now_ticks() { return __rdtsc() >> kTickShift; }

uint64_t monotonic_ns();
uint64_t realtime_ns();

}  // namespace memnb
