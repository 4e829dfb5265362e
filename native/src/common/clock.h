// Timestamps: the time-stamp counter shifted right by kTickShift ("ticks"). The writer
// pairs ticks with CLOCK_MONOTONIC in CLOCK and SNAPSHOT records; readers convert.
#pragma once
#include <cstdint>
#include <x86intrin.h>

namespace memnb {

constexpr unsigned kTickShift = 4;

inline uint64_t now_ticks() { return __rdtsc() >> kTickShift; }

// An ALLOC's time (Recorder::alloc_ticks): now rounded down to kAllocTickQuantum ticks, but never
// before prev, the time of the stream's previous record (a NATIVE_ALLOC or NATIVE_FREE may have
// come within the same quantum: the ALLOC's time difference is an unsigned varint).
constexpr uint64_t kAllocTickQuantum = 4;
inline uint64_t round_alloc_ticks(uint64_t now, uint64_t prev) {
  uint64_t rounded = now & ~(kAllocTickQuantum - 1);
  return rounded > prev ? rounded : prev;
}

// A native record's time: the counter, never before the stream's previous record. Each core has
// its own counter and they are not quite in step (two vCPUs here: up to ~340 cycles, ~21 ticks,
// apart), so a thread moved to a core that is behind could read a time before its last record's;
// its `dt`, an unsigned varint, would wrap and the capture would not read.
inline uint64_t stream_ticks(uint64_t now, uint64_t prev) { return now > prev ? now : prev; }

uint64_t monotonic_ns();
uint64_t realtime_ns();

}  // namespace memnb
