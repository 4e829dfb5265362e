// Sampled recording: an EventPipe session of the profiler's own for the runtime's
// AllocationSampled event, delivered synchronously to EventPipeEventDelivered on the thread
// that allocated, where the stack is walked and a SAMPLED_ALLOC recorded. Works whether
// the tracer was loaded at startup or attached to a running process (where
// ObjectAllocated callbacks are not allowed).
#pragma once
#include <cstdint>
#include <string>

#include "clr/corprof.h"

namespace memnb {

// Starts the session (the recorder must be recording already). False with the reason.
bool start_sampled_session(std::string* error);
// Stops the session; the runtime delivers no event of it afterwards.
void stop_sampled_session();
bool sampled_session_active();

struct SampledCounters {
  uint64_t events;       // AllocationSampled events delivered while recording
  uint64_t off_thread;   // delivered on another thread than the allocating one: recorded without a stack
  uint64_t unparsed;     // payloads of an unknown shape (not recorded)
  uint64_t runtime_frames;  // events for which the runtime passed a stack of its own
};
SampledCounters sampled_counters();

// ICorProfilerCallback10::EventPipeEventDelivered.
HRESULT sampled_event_delivered(void* self, EVENTPIPE_PROVIDER provider, DWORD event_id, DWORD event_version,
                                ULONG metadata_size, LPCBYTE metadata, ULONG data_size, LPCBYTE data,
                                LPCGUID activity, LPCGUID related_activity, ThreadID event_thread,
                                ULONG frame_count, UINT_PTR frames[]);

}  // namespace memnb
