// The runtime's GC survivor events (provider Microsoft-Windows-DotNETRuntime, keyword
// GCHeapSurvivalAndMovement 0x400000, level Informational): the same ranges the profiling
// API's MovedReferences2/SurvivingReferences2 report, computed by the GC's one walk of the
// survivors of the condemned generations, in bulk events of up to a few thousand ranges.
//
// Why events and not the callbacks: on .NET 10 the callbacks come only with MONITOR_GC, which
// also makes the runtime walk every gen0 object at each GC's start (ObjectsAllocatedByClass)
// and scan every root at its end (RootReferences2); the light flag meant for this
// (HIGH_MONITOR_GC_MOVED_OBJECTS) reaches no profiler, the runtime's per-profiler filter
// checking MONITOR_GC only. With the keyword on, the GC walks its survivors for every GC,
// compacting or sweeping, small or large object heap (DiagWalkSurvivors/DiagWalkUOHSurvivors)
// and fires these events on the collecting thread, which a synchronous session delivers to
// EventPipeEventDelivered before GarbageCollectionFinished.
#pragma once
#include <cstddef>
#include <cstdint>

namespace memnb {

constexpr uint64_t kGcSurvivalAndMovementKeyword = 0x400000;
constexpr uint32_t kGcBulkSurvivingObjectRangesEventId = 21;
constexpr uint32_t kGcBulkMovedObjectRangesEventId = 22;

struct SurvivorRanges {
  bool moved = false;            // moved ranges (old, new, length); else surviving ranges (start, length)
  uint32_t count = 0;            // ranges in `values`
  const uint8_t* values = nullptr;  // packed, unaligned: 24 bytes a moved range, 16 a surviving one
};

// Payload, version 0 of both: Index u32, Count u32, ClrInstanceID u16, then Count values
// (moved: OldRangeBase pointer, NewRangeBase pointer, RangeLength u64; surviving: RangeBase
// pointer, RangeLength u64). False for another event or a payload of another length. No
// allocation, no locks.
bool parse_survivor_ranges(uint32_t event_id, const uint8_t* data, size_t len, SurvivorRanges* out);

}  // namespace memnb
