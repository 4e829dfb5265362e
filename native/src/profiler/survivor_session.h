// Exact recording's GC survivors from the runtime's survivor events (lifetime/survivor_events.h):
// an EventPipe session of the profiler's own for the GCHeapSurvivalAndMovement keyword, whose
// events the runtime delivers synchronously to EventPipeEventDelivered on the collecting thread,
// between GarbageCollectionStarted and GarbageCollectionFinished. It replaces MONITOR_GC's
// MovedReferences2/SurvivingReferences2 and the per-GC heap walks that come with them.
#pragma once
#include <string>

#include "clr/corprof.h"

namespace memnb {

// Starts the session. False with the reason (the caller then records survivors through MONITOR_GC).
bool start_survivor_session(std::string* error);
void stop_survivor_session();
bool survivor_session_active();

// GarbageCollectionStarted: whether this GC's survivors come from the session's events (it was
// active as the GC began, so every survivor event of the GC reaches us) or from MONITOR_GC's
// callbacks. The other source's reports of the GC, if any, are ignored: a recording whose session
// starts while it runs (a recording from startup switches, startup_switch.h) never mixes them.
void survivor_gc_started();
bool gc_survivors_from_events();

// EventPipeEventDelivered for the session's events: true when the event was one of them.
bool survivor_event_delivered(DWORD event_id, ULONG data_size, LPCBYTE data);

struct SurvivorCounters {
  uint64_t moved_events;      // GCBulkMovedObjectRanges delivered while the session ran (compacting GCs)
  uint64_t surviving_events;  // GCBulkSurvivingObjectRanges (sweeping GCs, large and pinned object heaps)
  uint64_t ranges;            // ranges they held
  uint64_t unparsed;          // survivor events of an unknown shape (their GC's deaths cannot be trusted)
};
SurvivorCounters survivor_counters();

}  // namespace memnb
