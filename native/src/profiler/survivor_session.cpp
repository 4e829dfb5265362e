#include "profiler/survivor_session.h"

#include <atomic>
#include <cstdio>

#include "common/hot_path_timing.h"
#include "lifetime/survivor_events.h"
#include "native_hooks/hook_guard.h"
#include "profiler/profiler.h"
#include "profiler/recorder.h"
#include "profiler/runtime_provider.h"
#include "sampling/allocation_sampled.h"

namespace memnb {

namespace {

std::atomic<bool> g_active{false};
EVENTPIPE_SESSION g_session = 0;
std::atomic<bool> g_gc_from_events{false};  // latched at each GC's start
std::atomic<uint64_t> g_moved_events{0}, g_surviving_events{0}, g_ranges{0}, g_unparsed{0};

}  // namespace

bool start_survivor_session(std::string* error) {
  if (g_active.load()) return true;
  ICorProfilerInfo12* info = profiler_info12();
  if (!info) {
    *error = "this runtime has no ICorProfilerInfo12 (EventPipe sessions for profilers need .NET 5 or later)";
    return false;
  }
  COR_PRF_EVENTPIPE_PROVIDER_CONFIG config{kRuntimeProvider, kGcSurvivalAndMovementKeyword, kEventLevelInformational,
                                           nullptr};
  EVENTPIPE_SESSION session = 0;
  HRESULT hr = info->EventPipeStartSession(1, &config, 0, &session);
  info->Release();
  if (hr != S_OK) {
    char hex[16];
    snprintf(hex, sizeof hex, "0x%08X", static_cast<unsigned>(hr));
    *error = std::string("the runtime refused the EventPipe session for GC survivors (") + hex + ")";
    return false;
  }
  g_session = session;
  g_active.store(true, std::memory_order_release);
  return true;
}

void stop_survivor_session() {
  if (!g_active.exchange(false)) return;
  if (ICorProfilerInfo12* info = profiler_info12()) {
    info->EventPipeStopSession(g_session);
    info->Release();
  }
  g_session = 0;
}

bool survivor_session_active() { return g_active.load(std::memory_order_acquire); }

void survivor_gc_started() {
  g_gc_from_events.store(g_active.load(std::memory_order_acquire), std::memory_order_relaxed);
}

bool gc_survivors_from_events() { return g_gc_from_events.load(std::memory_order_relaxed); }

bool survivor_event_delivered(DWORD event_id, ULONG data_size, LPCBYTE data) {
  if (event_id != kGcBulkMovedObjectRangesEventId && event_id != kGcBulkSurvivingObjectRangesEventId) return false;
  if (!g_gc_from_events.load(std::memory_order_relaxed)) return true;
  HookGuard guard;  // the tracer's own allocations are not recorded
  TimedScope timed(TimedScope::kGc);
  SurvivorRanges ranges;
  if (!parse_survivor_ranges(event_id, data, data_size, &ranges)) {
    g_unparsed.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  (ranges.moved ? g_moved_events : g_surviving_events).fetch_add(1, std::memory_order_relaxed);
  g_ranges.fetch_add(ranges.count, std::memory_order_relaxed);
  recorder().gc_survivor_ranges(ranges);
  return true;
}

SurvivorCounters survivor_counters() {
  return {g_moved_events.load(), g_surviving_events.load(), g_ranges.load(), g_unparsed.load()};
}

}  // namespace memnb
