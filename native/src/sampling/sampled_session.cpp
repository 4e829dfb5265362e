#include "sampling/sampled_session.h"

#include <atomic>
#include <cstdio>

#include "profiler/profiler.h"
#include "profiler/recorder.h"
#include "profiler/runtime_provider.h"
#include "sampling/allocation_sampled.h"
#include "stacks/frame_walker.h"

namespace memnb {

namespace {

std::atomic<bool> g_active{false};
// LOH objects come exactly from ObjectAllocated (COR_PRF_HIGH_MONITOR_LARGEOBJECT_ALLOCATED,
// allowed after attach): their samples are dropped.
std::atomic<bool> g_large_exact{false};
EVENTPIPE_SESSION g_session = 0;
DWORD g_saved_low = 0, g_saved_high = 0;
std::atomic<uint64_t> g_events{0}, g_off_thread{0}, g_unparsed{0}, g_runtime_frames{0}, g_large_dropped{0};

uint64_t current_managed_thread() {
  ThreadID id = 0;
  if (ICorProfilerInfo5* info = profiler_info()) info->GetCurrentThreadID(&id);
  return id;
}

}  // namespace

bool start_sampled_session(std::string* error) {
  ICorProfilerInfo5* info5 = profiler_info();
  if (!info5) {
    *error = "the tracer is not this process's profiler";
    return false;
  }
  void* raw = nullptr;
  if (info5->QueryInterface(IID_ICorProfilerInfo12, &raw) != S_OK || !raw) {
    *error = "this runtime has no ICorProfilerInfo12 (EventPipe sessions for profilers need .NET 5 or later)";
    return false;
  }
  auto* info = static_cast<ICorProfilerInfo12*>(raw);
  // EventPipeEventDelivered is only called with HIGH_MONITOR_EVENT_PIPE set. With
  // HIGH_MONITOR_LARGEOBJECT_ALLOCATED (in COR_PRF_HIGH_ALLOWABLE_AFTER_ATTACH) the runtime
  // calls ObjectAllocated for every LOH object and for nothing else (unless
  // MONITOR_OBJECT_ALLOCATED is on, which sampled recording never sets): those are recorded
  // exactly. A runtime refusing it still gets samples of every heap.
  // HIGH_BASIC_GC (also allowed after attach) gives GarbageCollectionStarted and Finished
  // without the survivor reports and heap walk of MONITOR_GC: the capture's GC_START/GC_END
  // records, so an attached recording counts its GCs.
  info->GetEventMask2(&g_saved_low, &g_saved_high);
  DWORD high = g_saved_high | COR_PRF_HIGH_MONITOR_EVENT_PIPE | COR_PRF_HIGH_BASIC_GC;
  bool large_exact = info->SetEventMask2(g_saved_low, high | COR_PRF_HIGH_MONITOR_LARGEOBJECT_ALLOCATED) == S_OK;
  if (!large_exact && info->SetEventMask2(g_saved_low, high) != S_OK) {
    info->Release();
    *error = "the runtime refused the EventPipe event mask";
    return false;
  }
  g_large_exact.store(large_exact, std::memory_order_relaxed);
  COR_PRF_EVENTPIPE_PROVIDER_CONFIG config{kRuntimeProvider, kAllocationSampledKeyword, kEventLevelInformational, nullptr};
  EVENTPIPE_SESSION session = 0;
  HRESULT hr = info->EventPipeStartSession(1, &config, 0, &session);
  if (hr != S_OK) {
    info->SetEventMask2(g_saved_low, g_saved_high);
    g_large_exact.store(false, std::memory_order_relaxed);
    info->Release();
    char hex[16];
    snprintf(hex, sizeof hex, "0x%08X", static_cast<unsigned>(hr));
    *error = std::string("the runtime refused the EventPipe session for AllocationSampled (") + hex + ")";
    return false;
  }
  g_session = session;
  g_active.store(true, std::memory_order_release);
  info->Release();
  return true;
}

void stop_sampled_session() {
  if (!g_active.exchange(false)) return;
  ICorProfilerInfo5* info5 = profiler_info();
  void* raw = nullptr;
  if (info5 && info5->QueryInterface(IID_ICorProfilerInfo12, &raw) == S_OK && raw) {
    auto* info = static_cast<ICorProfilerInfo12*>(raw);
    info->EventPipeStopSession(g_session);
    info->SetEventMask2(g_saved_low, g_saved_high);
    info->Release();
  }
  g_session = 0;
  g_large_exact.store(false, std::memory_order_relaxed);
}

bool sampled_session_active() { return g_active.load(std::memory_order_acquire); }

bool sampled_large_objects_exact() { return g_large_exact.load(std::memory_order_relaxed); }

SampledCounters sampled_counters() {
  return {g_events.load(), g_off_thread.load(), g_unparsed.load(), g_runtime_frames.load(), g_large_dropped.load()};
}

HRESULT sampled_event_delivered(void*, EVENTPIPE_PROVIDER, DWORD event_id, DWORD, ULONG, LPCBYTE, ULONG data_size,
                                LPCBYTE data, LPCGUID, LPCGUID, ThreadID event_thread, ULONG frame_count, UINT_PTR[]) {
  if (event_id != kAllocationSampledEventId || !g_active.load(std::memory_order_relaxed)) return S_OK;
  Recorder& rec = recorder();
  if (!rec.recording()) return S_OK;
  AllocationSample sample;
  if (!parse_allocation_sampled(data, data_size, &sample)) {
    g_unparsed.fetch_add(1, std::memory_order_relaxed);
    return S_OK;
  }
  if (!sample_recorded(sample, g_large_exact.load(std::memory_order_relaxed))) {
    g_large_dropped.fetch_add(1, std::memory_order_relaxed);
    return S_OK;
  }
  ThreadState* ts = rec.thread_state(&current_managed_thread);
  if (!ts) return S_OK;
  ts->in_hook.store(1, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (rec.recording()) {
    g_events.fetch_add(1, std::memory_order_relaxed);
    if (frame_count > 0) g_runtime_frames.fetch_add(1, std::memory_order_relaxed);
    int64_t type = rec.intern_type(ts, sample.type_id);
    uintptr_t ips[kMaxFrames];
    int depth = 0;
    // A profiler's session is synchronous: ep_session_write_event calls us from the thread
    // writing the event, and the runtime fires AllocationSampled from the allocating thread
    // with event_thread = null ("the current thread"; measured: always null here). An event
    // written on behalf of another thread names it: then our stack would be the wrong one.
    if (event_thread == 0 || event_thread == ts->managed_id) {
      depth = walk_from_first_managed(ips, kMaxFrames, ts->bounds, &ts->prefix, &ts->base);
    } else {
      g_off_thread.fetch_add(1, std::memory_order_relaxed);
    }
    rec.record_sampled_allocation(ts, sample.address, type, (sample.size + 7) & ~uint64_t{7}, sample.sampled_byte_offset,
                                  static_cast<uint8_t>(sample.kind), ips, depth);
  }
  ts->in_hook.store(0, std::memory_order_release);
  return S_OK;
}

}  // namespace memnb
