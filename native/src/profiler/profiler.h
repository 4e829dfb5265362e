// The CoreCLR profiler object: a COM-shaped vtable whose callbacks dispatch into the
// recorder. Shared by the class factory and the control API.
#pragma once
#include <string>

#include "clr/corprof.h"

namespace memnb {

// {6A1B7C3E-2D4F-4E59-8A0B-9C1D2E3F4A5B}: the CLSID in CORECLR_PROFILER.
inline constexpr GUID kProfilerClsid = {0x6A1B7C3E, 0x2D4F, 0x4E59, {0x8A, 0x0B, 0x9C, 0x1D, 0x2E, 0x3F, 0x4A, 0x5B}};

// The profiler instance handed to the runtime (one per process).
void* profiler_instance();

// Set once Initialize accepted the runtime; null when the tracer was only loaded as a
// plain library (then recording managed allocations is impossible).
ICorProfilerInfo5* profiler_info();

// True when the tracer was attached to a running process (InitializeForAttach): then
// only sampled recording is possible.
bool profiler_attached();

// False once a size read from a method table disagreed with the runtime's.
// ObjectReferences calls so far: one per GC while recording, as the runtime's heap walk is ended there.
uint64_t heap_walk_objects();
bool size_shortcut_enabled();

// Switches the mutable event-mask bits for recording on or off. Survivors come from the survivor
// session when it was prepared (prepare_survivor_events) and `survivor_events` asks for it, else
// from MONITOR_GC's callbacks.
bool set_allocation_events(bool on, bool survivor_events = false);

// Starts and stops the survivor session once, outside any recording: enabling the runtime's
// provider runs the managed NativeRuntimeEventSource's first command on the calling thread (its
// manifest: thousands of objects, and reflection-emitted invokers whose resolvers the finalizer
// thread finalizes during the next GCs). The caller then lets those GCs and finalizers run before
// recording (Tracker.Prepare). False with the reason when the runtime refuses the session.
bool prepare_survivor_events(std::string* error);

// The survivor session is active and no startup switch is still under way (its mask lock released):
// the next GC to begin takes its survivors from the session's events and drops MONITOR_GC.
bool survivor_events_in_use();

}  // namespace memnb
