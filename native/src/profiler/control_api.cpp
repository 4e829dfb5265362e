// The C ABI Recorder calls through P/Invoke: start, stop, status.
#include <string>

#include "common/hot_path_timing.h"
#include "native_hooks/hook_guard.h"
#include "profiler/profiler.h"
#include "profiler/recorder.h"
#include "profiler/survivor_session.h"
#include "sampling/sampled_session.h"

namespace memnb {
SymbolSource* runtime_names();
}

namespace {
thread_local std::string t_last_error;

bool parse_options(const char* text, memnb::RecorderOptions* options, std::string* error) {
  std::string all = text ? text : "";
  size_t at = 0;
  while (at <= all.size()) {
    size_t comma = all.find(',', at);
    std::string word = all.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (word == "aggregate") {
      options->aggregate = true;
    } else if (word == "sampled") {
      options->sampled = true;
    } else if (word == "native") {
      options->native = true;
    } else if (!word.empty()) {
      *error = "unknown tracer option '" + word + "' (known: aggregate, native, sampled)";
      return false;
    }
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return true;
}

int fail(int code, const std::string& message) {
  t_last_error = message;
  return code;
}
}  // namespace

enum MemnbStatus : int {
  kStatusProfilerLoaded = 1,  // Initialize ran: managed allocations can be recorded
  kStatusRecording = 2,
  kStatusSizeShortcut = 4,  // object sizes are read from method tables (checked against the runtime)
  kStatusAttached = 8,      // attached to the running process: sampled recording only
};

extern "C" {

// options: null, or comma-separated words: "aggregate" writes per-(stack, type) totals
// instead of every allocation; "native" records native allocations too (malloc & co.,
// mmap) through GOT hooks; "sampled" records the runtime's allocation samples
// (AllocationSampled, one per ~100 KB) instead of every allocation -- the only mode of an
// attached tracer. Returns 0, or a negative code with memnb_last_error().
namespace {
constexpr int kSampledFlushIntervalMs = 100;
}

__attribute__((visibility("default"))) int memnb_start(const char* path, const char* options) {
  using namespace memnb;
  HookGuard guard;
  if (!path || !*path) return fail(-4, "no capture path given");
  std::string error;
  RecorderOptions opts;
  if (!parse_options(options, &opts, &error)) return fail(-6, error);
  if (recorder().recording()) return fail(-2, "already recording");
  bool profiler = profiler_info() != nullptr;
  if (opts.sampled) {
    if (!profiler) return fail(-1, "sampled recording needs the tracer attached to this process as its profiler");
    if (opts.aggregate) return fail(-6, "the tracer options 'sampled' and 'aggregate' do not go together");
    // A sample comes every ~100 KB allocated, a few thousand a second at most: the writer wakes every
    // 100 ms instead of 10 (its wake-ups, snapshots and zstd frames were ~10% of the allocating thread's
    // CPU on the other core). Exact native allocations keep the short interval.
    if (!opts.native) opts.flush_interval_ms = kSampledFlushIntervalMs;
    if (!recorder().start(path, opts, runtime_names(), &error)) return fail(-3, error);
    if (!start_sampled_session(&error)) {
      std::string ignored;
      recorder().stop(&ignored);
      return fail(-8, error);
    }
    return 0;
  }
  if (profiler_attached()) {
    return fail(-7,
                "the tracer was attached to this running process: only sampled recording is possible (option "
                "'sampled'); start the process with the tracer for every allocation");
  }
  // Without the profiler (the tracer loaded as a plain library) only native allocations can
  // be recorded: their stacks keep managed frames as raw addresses, without names.
  if (!profiler && !opts.native) {
    return fail(-1,
                "the tracer is not this process's profiler: start the process with `memnb run` "
                "(or the tracer kernel) to record managed allocations (native ones alone can be "
                "recorded with the \"native\" option)");
  }
  if (profiler && !set_allocation_events(true, /*survivor_events=*/true))
    return fail(-5, "the runtime refused the allocation event mask");
  if (!recorder().start(path, opts, profiler ? runtime_names() : nullptr, &error)) {
    if (profiler) set_allocation_events(false);
    return fail(-3, error);
  }
  return 0;
}

// Prepares exact recording's GC survivor events (profiler.h, prepare_survivor_events): call once,
// outside any recording, then let a GC and the finalizers run before the first memnb_start
// (Tracker.Prepare does both). Until then recordings take their survivors from MONITOR_GC's
// callbacks, which cost every GC a walk of gen0 and of the roots. Returns 0, or a negative
// code with memnb_last_error().
__attribute__((visibility("default"))) int memnb_prepare(void) {
  using namespace memnb;
  HookGuard guard;
  std::string error;
  if (!prepare_survivor_events(&error)) return fail(-9, error);
  return 0;
}

__attribute__((visibility("default"))) int memnb_stop(void) {
  using namespace memnb;
  HookGuard guard;
  if (!recorder().recording()) return fail(-2, "not recording");
  if (sampled_session_active())
    stop_sampled_session();
  else if (profiler_info())
    set_allocation_events(false);
  std::string error;
  if (!recorder().stop(&error)) return fail(-3, error);
  return 0;
}

__attribute__((visibility("default"))) int memnb_status(void) {
  using namespace memnb;
  int status = 0;
  if (profiler_info() && !profiler_attached()) status |= kStatusProfilerLoaded;
  if (profiler_attached()) status |= kStatusAttached;
  if (recorder().recording()) status |= kStatusRecording;
  if (size_shortcut_enabled()) status |= kStatusSizeShortcut;
  return status;
}

// The message of the calling thread's last failed call (valid until its next call).
__attribute__((visibility("default"))) const char* memnb_last_error(void) { return t_last_error.c_str(); }

__attribute__((visibility("default"))) unsigned long long memnb_recorded_allocations(void) {
  return memnb::recorder().allocations();
}

// Counters of sampled recording since the tracer was loaded: out[0] events recorded,
// out[1] of them delivered off the allocating thread (no stack), out[2] payloads of an
// unknown shape, out[3] events that came with a stack walked by the runtime.
__attribute__((visibility("default"))) void memnb_sampled_counters(unsigned long long out[4]) {
  memnb::SampledCounters c = memnb::sampled_counters();
  out[0] = c.events;
  out[1] = c.off_thread;
  out[2] = c.unparsed;
  out[3] = c.runtime_frames;
}

// Where the hot path's time went (MEMNB_TIMING=1 at startup; zeros otherwise), for the
// overhead benchmark: see common/hot_path_timing.h for the ten entries. Entry 9 is the
// records the current or last recording dropped.
__attribute__((visibility("default"))) void memnb_overhead_counters(unsigned long long out[10]) {
  memnb::HotPathTiming::get().read(out);
  out[9] = memnb::recorder().dropped();
}

// The objects the runtime's post-GC heap walk has shown the tracer (see object_references): a
// recording's GCs make none (no MONITOR_GC), so this stays put unless the survivor session was
// refused; then the walk is ended at its first object, one per GC.
__attribute__((visibility("default"))) unsigned long long memnb_heap_walk_objects(void) {
  return memnb::heap_walk_objects();
}

// The survivor session's counters (profiler/survivor_session.h): moved-range events, surviving-range
// events, ranges, unparsed events.
__attribute__((visibility("default"))) void memnb_survivor_counters(unsigned long long out[4]) {
  memnb::SurvivorCounters c = memnb::survivor_counters();
  out[0] = c.moved_events;
  out[1] = c.surviving_events;
  out[2] = c.ranges;
  out[3] = c.unparsed;
}

// 1 when the recording takes its GC survivors from the survivor session (a recording from startup once its
// startup switch has finished: profiler_callback.cpp), else 0.
__attribute__((visibility("default"))) int memnb_survivor_events_in_use(void) {
  return memnb::survivor_events_in_use() ? 1 : 0;
}

__attribute__((visibility("default"))) unsigned long long memnb_recorded_native_allocations(void) {
  return memnb::recorder().native_allocations();
}
}
