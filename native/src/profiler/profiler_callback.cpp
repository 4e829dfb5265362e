#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>
#include <string.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "common/hot_path_timing.h"
#include "profiler/attach_control.h"
#include "profiler/names.h"
#include "profiler/profiler.h"
#include "profiler/recorder.h"
#include "profiler/survivor_session.h"
#include "sampling/sampled_session.h"
#include "stacks/frame_walker.h"
#include "stacks/module_map.h"
#include "native_hooks/hook_guard.h"
#include "native_hooks/native_hooks.h"

namespace memnb {

namespace {

struct Profiler {
  void** vtable;
  std::atomic<ULONG> refs;
};

void* g_vtable[kCallbackSlotCount];
Profiler g_profiler{g_vtable, {1}};
ICorProfilerInfo5* g_info = nullptr;
RuntimeNames* g_names = nullptr;
bool g_autostarted = false;
bool g_attached = false;  // loaded into a running process: sampled recording only

// ENABLE_OBJECT_ALLOCATED can only be set at startup (it switches the JIT to the slow
// allocation helpers). GC survivor reports (MONITOR_GC) make every GC walk the survivors
// (an allocation-bound loop ran 2.5x slower with them), so they are on only while
// recording. A background GC reports no survivors: the runtime turns concurrent GC off for
// good when MONITOR_GC is in the mask as Initialize returns, so Initialize sets it and the
// first callback after (a thread's creation, which precedes any GC) drops it again.
constexpr DWORD kIdleMask = COR_PRF_ENABLE_OBJECT_ALLOCATED | COR_PRF_MONITOR_THREADS | COR_PRF_MONITOR_SUSPENDS;
// While recording: every allocation, GarbageCollectionStarted/Finished (HIGH_BASIC_GC) and the
// GC's survivors as the runtime's survivor events (HIGH_MONITOR_EVENT_PIPE and a session of
// ours, profiler/survivor_session.h). MONITOR_GC would give the same survivors as callbacks
// but costs every GC a walk of all of gen0 at its start (ObjectsAllocatedByClass) and a scan
// of every root at its end: on the mixed workload the runtime's share of a recording fell
// from 2.92x to 2.10x without it. (Its light alternative, HIGH_MONITOR_GC_MOVED_OBJECTS,
// reaches no profiler on .NET 10: the runtime filters those callbacks on MONITOR_GC.) When
// the runtime refuses the session, MONITOR_GC's callbacks give the survivors instead.
constexpr DWORD kRecordingMask = kIdleMask | COR_PRF_MONITOR_OBJECT_ALLOCATED;
constexpr DWORD kRecordingHighMask = COR_PRF_HIGH_BASIC_GC | COR_PRF_HIGH_MONITOR_EVENT_PIPE;
std::mutex g_mask_mutex;  // SetEventMask from control calls and from the startup settling
bool g_recording_mask = false;
std::atomic<bool> g_startup_mask_pending{false};
std::atomic<bool> g_survivor_events_prepared{false};
std::atomic<bool> g_monitor_gc_set{false};  // MONITOR_GC in the mask now

// Until the startup settles, MONITOR_GC is set even when idle. A recording without the survivor
// session takes its survivors from MONITOR_GC's callbacks: one from startup (the runtime's managed
// event source would record its first command in it), one before prepare_survivor_events, or one
// whose session the runtime refused. Call with g_mask_mutex held (or from Initialize), the session
// already started or stopped.
bool apply_event_mask(bool recording) {
  bool startup = g_startup_mask_pending.load();
  DWORD gc = startup || (recording && !survivor_session_active()) ? DWORD{COR_PRF_MONITOR_GC} : DWORD{0};
  bool ok = recording ? g_info->SetEventMask2(kRecordingMask | gc, kRecordingHighMask) == S_OK
                      : g_info->SetEventMask2(kIdleMask | gc, 0) == S_OK;
  if (ok) g_monitor_gc_set.store(gc != 0, std::memory_order_relaxed);
  return ok;
}

// A recording from startup (memnb run, MEMNB_OUTPUT) cannot prepare the survivor session before it
// begins, so it starts with MONITOR_GC's callbacks and switches to the survivor events once the
// runtime's managed NativeRuntimeEventSource exists (the writer has named its allocation) and a GC
// has finished: a thread of the tracer's own starts the session, so the event source's first
// command (its manifest: thousands of objects) runs on that thread, whose allocations are the
// tracer's and never recorded (object_allocated skips a thread holding a HookGuard). The next GC to
// begin with the session active drops MONITOR_GC (gc_started), and each GC takes its survivors from
// the one source it began with (survivor_gc_started).
sem_t g_switch_wake;
std::atomic<int> g_switch_state{0};  // 0: none, 1: waiting for a GC, 2: done

void* startup_switch_thread(void*) {
  HookGuard guard;
  for (;;) {
    while (sem_wait(&g_switch_wake) != 0 && errno == EINTR) {
    }
    if (!recorder().recording()) break;
    if (!recorder().runtime_event_source_seen()) continue;
    std::lock_guard<std::mutex> lock(g_mask_mutex);
    if (!g_recording_mask || !recorder().recording()) break;
    std::string error;
    start_survivor_session(&error);  // refused: the recording stays on MONITOR_GC's callbacks
    break;
  }
  g_switch_state.store(2, std::memory_order_release);
  return nullptr;
}

void start_startup_switch() {
  if (sem_init(&g_switch_wake, 0, 0) != 0) return;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  g_switch_state.store(1);
  if (pthread_create(&thread, &attr, &startup_switch_thread, nullptr) != 0) g_switch_state.store(0);
  pthread_attr_destroy(&attr);
}

// Every callback we do not handle: SysV x64 leaves the arguments to the caller.
HRESULT ignored(void*) { return S_OK; }

HRESULT query_interface(void* self, REFIID iid, void** out) {
  if (iid == IID_IUnknown || iid == IID_ICorProfilerCallback || iid == IID_ICorProfilerCallback2 ||
      iid == IID_ICorProfilerCallback3 || iid == IID_ICorProfilerCallback4 || iid == IID_ICorProfilerCallback5 ||
      iid == IID_ICorProfilerCallback6 || iid == IID_ICorProfilerCallback7 || iid == IID_ICorProfilerCallback8 ||
      iid == IID_ICorProfilerCallback9 || iid == IID_ICorProfilerCallback10) {
    // Through 10 for EventPipeEventDelivered (sampled recording); the slots we do not
    // handle are the generic stub.
    *out = self;
    static_cast<Profiler*>(self)->refs.fetch_add(1);
    return S_OK;
  }
  *out = nullptr;
  return E_NOINTERFACE;
}

ULONG add_ref(void* self) { return static_cast<Profiler*>(self)->refs.fetch_add(1) + 1; }
// The instance is static: the runtime's last Release never frees it.
ULONG release(void* self) { return static_cast<Profiler*>(self)->refs.fetch_sub(1) - 1; }

const char* const kInheritedVariables[] = {
    "CORECLR_ENABLE_PROFILING", "CORECLR_PROFILER", "CORECLR_PROFILER_PATH", "CORECLR_PROFILER_PATH_64",
    "DOTNET_ENABLE_PROFILING",  "DOTNET_PROFILER",  "DOTNET_PROFILER_PATH",  "DOTNET_PROFILER_PATH_64",
    "MEMNB_OUTPUT",
    "MEMNB_FLOOR",
    "MEMNB_AGGREGATE",
    "MEMNB_NATIVE",
};

struct sigaction g_previous_abort;

// abort() (an unhandled exception, FailFast) would lose what the writer has not written
// yet: let it write, then let the previous handler run.
void on_abort(int signo, siginfo_t* info, void* context) {
  recorder().flush_for_crash(2000);
  sigaction(SIGABRT, &g_previous_abort, nullptr);
  raise(signo);
}

// Children inherit the profiler variables (the runtime gives child processes the
// environment it read at startup; unsetenv here does not reach it). Only one process
// may be the target: the one that creates the capture file (MEMNB_OUTPUT), or the one
// that holds the claim file (MEMNB_CLAIM: first live pid written there wins).
bool claim_target(const std::string& output) {
  const char* claim = getenv("MEMNB_CLAIM");
  if (!output.empty()) {
    int fd = open(output.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    close(fd);
  }
  if (claim && *claim) {
    int fd = open(claim, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    bool mine = false;
    if (flock(fd, LOCK_EX) == 0) {
      char buf[32] = {};
      ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
      long owner = n > 0 ? strtol(buf, nullptr, 10) : 0;
      if (owner <= 0 || owner == getpid() || (kill(static_cast<pid_t>(owner), 0) != 0 && errno == ESRCH)) {
        char pid[32];
        int len = snprintf(pid, sizeof pid, "%d\n", getpid());
        mine = ftruncate(fd, 0) == 0 && pwrite(fd, pid, static_cast<size_t>(len), 0) == len;
      }
      flock(fd, LOCK_UN);
    }
    close(fd);
    return mine;
  }
  return true;
}

uint64_t current_managed_thread();
uintptr_t managed_code_start(uintptr_t ret);

HRESULT initialize(void* self, IUnknown* unknown) {
  std::string output = getenv("MEMNB_OUTPUT") ? getenv("MEMNB_OUTPUT") : "";
  HookGuard guard;
  const char* aggregate = getenv("MEMNB_AGGREGATE");
  bool aggregated = aggregate && strcmp(aggregate, "1") == 0;
  const char* native = getenv("MEMNB_NATIVE");
  bool native_allocations = native && strcmp(native, "1") == 0;
  // Not the target (a child that inherited the variables): refuse, so the runtime
  // unloads the tracer and the child runs at full speed.
  if (!claim_target(output)) return E_FAIL;
  // MEMNB_FLOOR=1, for the overhead benchmark's "floor" row: the event masks of a recording,
  // but the allocation and GC callbacks return at once (the heap walk at a GC's end is still
  // ended at its first object, as in a recording). What the runtime alone costs a recording:
  // its slow allocation path, its dispatch of each callback, its GC monitoring. The capture
  // then holds no allocation.
  const char* floor = getenv("MEMNB_FLOOR");
  if (floor && strcmp(floor, "1") == 0) {
    for (int slot : {kSlot_ObjectAllocated, kSlot_GarbageCollectionStarted, kSlot_GarbageCollectionFinished,
                     kSlot_MovedReferences2, kSlot_SurvivingReferences2, kSlot_RuntimeSuspendStarted,
                     kSlot_RuntimeResumeFinished, kSlot_EventPipeEventDelivered})
      g_vtable[slot] = reinterpret_cast<void*>(&ignored);
  }
  for (const char* name : kInheritedVariables) unsetenv(name);

  void* info = nullptr;
  if (unknown->QueryInterface(IID_ICorProfilerInfo5, &info) != S_OK || !info) return E_FAIL;
  g_info = static_cast<ICorProfilerInfo5*>(info);
  g_startup_mask_pending.store(true);
  if (!apply_event_mask(false)) return E_FAIL;
  g_names = new RuntimeNames(g_info);
  module_map().refresh();
  set_native_thread_id_source(&current_managed_thread);
  set_managed_code_start_source(&managed_code_start);
  struct sigaction action {};
  action.sa_sigaction = &on_abort;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  sigaction(SIGABRT, &action, &g_previous_abort);

  if (!output.empty()) {
    std::string error;
    RecorderOptions options;
    options.aggregate = aggregated;
    options.native = native_allocations;
    if (set_allocation_events(true) && recorder().start(output.c_str(), options, g_names, &error)) {
      g_autostarted = true;
      if (!(floor && strcmp(floor, "1") == 0)) start_startup_switch();
    } else {
      set_allocation_events(false);
      fprintf(stderr, "memnb: cannot record: %s\n", error.c_str());
    }
  }
  return S_OK;
}

// Attached to a running process (DiagnosticsClient.AttachProfiler, also by the process
// itself): object-allocated callbacks cannot be enabled after startup, so only sampled
// recording (sampling/) is possible. No variables to claim or clear.
HRESULT initialize_for_attach(void* self, IUnknown* unknown, void* client_data, UINT client_data_size) {
  if (g_info) return E_FAIL;
  HookGuard guard;
  bool requested = false;
  std::string error;
  if (!attach_request_parse(client_data, client_data_size, &requested, &error)) {
    fprintf(stderr, "memnb: %s\n", error.c_str());
    return E_FAIL;
  }
  void* info = nullptr;
  if (unknown->QueryInterface(IID_ICorProfilerInfo5, &info) != S_OK || !info) return E_FAIL;
  g_info = static_cast<ICorProfilerInfo5*>(info);
  g_attached = true;
  g_names = new RuntimeNames(g_info);
  module_map().refresh();
  return S_OK;
}

// After InitializeForAttach: an attach from another process (memnb attach) starts recording now.
HRESULT attach_complete(void*) {
  attach_request_begin();
  return S_OK;
}

// Every thread has left the tracer; the runtime releases it and unloads the library next. If the
// library stays mapped (a thread still holds one of its thread-local destructors), a later attach
// finds it as new.
HRESULT detach_succeeded(void*) {
  attach_request_detached();
  // Its caches hold nothing of the runtime's to release (metadata interfaces die with the runtime's modules).
  delete g_names;
  g_names = nullptr;
  g_info = nullptr;
  g_attached = false;
  return S_OK;
}

HRESULT shutdown(void*) {
  HookGuard guard;  // the tracer's own allocations are not recorded
  if (recorder().recording()) {
    std::string error;
    stop_sampled_session();
    set_allocation_events(false);
    if (!recorder().stop(&error)) fprintf(stderr, "memnb: %s\n", error.c_str());
  }
  return S_OK;
}

uint64_t current_managed_thread() {
  ThreadID id = 0;
  if (g_info) g_info->GetCurrentThreadID(&id);
  return id;
}

// The start of the JIT-compiled code holding a return address (the walker reads its prolog, once per
// address: stacks/frame_walker.h), from inside an allocation callback: the function at the call
// (GetFunctionFromIP, as Recorder::learn_osr_sites asks), then the start and size of its code
// (GetCodeInfo: the code version the runtime calls now, its first part). 0 when the address is not
// in that part (an older tier, cold code): its frame is not known.
uintptr_t managed_code_start(uintptr_t ret) {
  FunctionID function = 0;
  LPCBYTE start = nullptr;
  ULONG size = 0;
  if (!g_info || g_info->GetFunctionFromIP(reinterpret_cast<LPCBYTE>(ret - 1), &function) != S_OK) return 0;
  if (g_info->GetCodeInfo(function, &start, &size) != S_OK || !start) return 0;
  uintptr_t begin = reinterpret_cast<uintptr_t>(start);
  return ret - 1 >= begin && ret - 1 - begin < size ? begin : 0;
}

// Object size from the object's MethodTable, as the runtime lays it out: the first
// 32-bit word holds the flags (bit 31: has a component size, in the low 16 bits), the
// second the base size; arrays and strings keep their length right after the
// MethodTable pointer. Asking the runtime (GetObjectSize2) costs more than the rest of
// the hook, so this reads it directly -- but only after the runtime's answer agreed for
// the type (first allocation of every type, and every allocation while fewer than
// kSizeChecks have been compared). One disagreement turns the shortcut off for good.
constexpr uint32_t kHasComponentSize = 0x80000000u;
constexpr int kSizeChecks = 4096;
std::atomic<bool> g_size_shortcut{true};
std::atomic<int> g_size_checks_left{kSizeChecks};

inline uint64_t size_from_method_table(ObjectID object) {
  uintptr_t mt = *reinterpret_cast<const uintptr_t*>(object);
  uint32_t flags = *reinterpret_cast<const uint32_t*>(mt);
  uint64_t size = *reinterpret_cast<const uint32_t*>(mt + 4);
  if (flags & kHasComponentSize)
    size += static_cast<uint64_t>(flags & 0xFFFFu) * *reinterpret_cast<const uint32_t*>(object + sizeof(uintptr_t));
  return size;
}

// The bytes an object takes in the GC heap: its size rounded up to the heap's 8-byte
// alignment (what GC.GetAllocatedBytesForCurrentThread counts; strings and byte arrays
// have sizes that are not multiples of 8).
inline uint64_t heap_size(uint64_t size) { return (size + 7) & ~uint64_t{7}; }

uint64_t object_size(Recorder& rec, ObjectID object, int64_t type) {
  SIZE_T runtime_size = 0;
  if (!g_size_shortcut.load(std::memory_order_relaxed)) {
    g_info->GetObjectSize2(object, &runtime_size);
    return heap_size(runtime_size);
  }
  uint64_t size = size_from_method_table(object);
  if (rec.size_checked(type) && g_size_checks_left.load(std::memory_order_relaxed) <= 0) return heap_size(size);
  g_info->GetObjectSize2(object, &runtime_size);
  if (runtime_size != size) {
    g_size_shortcut.store(false, std::memory_order_relaxed);
    return heap_size(runtime_size);
  }
  rec.mark_size_checked(type);
  g_size_checks_left.fetch_sub(1, std::memory_order_relaxed);
  return heap_size(size);
}

// A timed allocation (common/hot_path_timing.h): the same steps with the cycles of each part.
void record_timed(Recorder& rec, ThreadState* ts, ObjectID object, ClassID cls, uint64_t entry) {
  HotPathTiming& timing = HotPathTiming::get();
  uint64_t t0 = __rdtsc();
  int64_t type = rec.intern_type(ts, cls);
  uint64_t size = object_size(rec, object, type);
  uint64_t t1 = __rdtsc();
  uintptr_t ips[kMaxFrames];
  int depth = walk_from_first_managed(ips, kMaxFrames, ts->bounds, &ts->prefix, &ts->base, &ts->walk);
  int hint = walk_hint(ts, ips, depth);
  uint64_t t2 = __rdtsc();
  uint64_t marks[3] = {t2, t2, t2};
  rec.record_typed_allocation(ts, object, type, size, ips, depth, marks, hint);
  timing.add(HotPathTiming::kWalk, t2 - t1);
  timing.add(HotPathTiming::kIntern, (t1 - t0) + (marks[0] - t2));
  timing.add(HotPathTiming::kEncode, marks[1] - marks[0]);
  timing.add(HotPathTiming::kLifetime, marks[2] - marks[1]);
  timing.add(HotPathTiming::kHook, __rdtsc() - entry);
  timing.timed_one();
}

HRESULT object_allocated(void*, ObjectID object, ClassID cls) {
  Recorder& rec = recorder();
  if (!rec.recording() || t_hook_guard) return S_OK;  // a thread of the tracer's own (startup switch)
  uint64_t entry = g_timing_on ? __rdtsc() : 0;  // reading the counter costs ~10 ns: only when timing
  HookGuard guard;
  ThreadState* ts = rec.thread_state(&current_managed_thread);
  if (!ts) return S_OK;
  ts->in_hook.store(1, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (rec.recording()) {
    if (g_timing_on && !rec.sampled() && HotPathTiming::sample(&ts->timing_countdown)) {
      record_timed(rec, ts, object, cls, entry);
    } else {
      uint64_t tsc = __rdtsc();
      int64_t type = rec.intern_type(ts, cls);
      uint64_t size = object_size(rec, object, type);
      uintptr_t ips[kMaxFrames];
      // Sampled recording turns on LOH callbacks only (sampling/sampled_session.cpp): every
      // object reported here is a LOH object, recorded exactly.
      if (rec.sampled()) {
        int depth = walk_from_first_managed(ips, kMaxFrames, ts->bounds, &ts->prefix, &ts->base);
        rec.record_exact_large_allocation(ts, object, type, size, ips, depth);
      } else {
        int depth = walk_from_first_managed(ips, kMaxFrames, ts->bounds, &ts->prefix, &ts->base, &ts->walk);
        int hint = walk_hint(ts, ips, depth);
        rec.record_typed_allocation(ts, object, type, size, ips, depth, nullptr, hint, tsc);
      }
    }
  }
  ts->in_hook.store(0, std::memory_order_release);
  return S_OK;
}

std::vector<GenerationRange> generation_ranges(uint64_t heap_bytes[kHeapParts]) {
  std::vector<GenerationRange> out;
  ULONG count = 0;
  if (!g_info || g_info->GetGenerationBounds(0, &count, nullptr) != S_OK || count == 0) return out;
  std::vector<COR_PRF_GC_GENERATION_RANGE> ranges(count);
  ULONG got = 0;
  if (g_info->GetGenerationBounds(count, &got, ranges.data()) != S_OK) return out;
  for (ULONG i = 0; i < got && i < count; ++i) {
    const auto& r = ranges[i];
    uint64_t reserved = r.rangeLengthReserved > r.rangeLength ? r.rangeLengthReserved : r.rangeLength;
    int gen = static_cast<int>(r.generation);
    out.push_back({r.rangeStart, r.rangeStart + reserved, gen});
    if (heap_bytes && gen >= 0 && gen < kHeapParts) heap_bytes[gen] += r.rangeLength;
  }
  return out;
}

HRESULT gc_started(void*, int generations, BOOL collected[], COR_PRF_GC_REASON reason) {
  HookGuard guard;  // the tracer's own allocations are not recorded
  TimedScope timed(TimedScope::kGc);
  survivor_gc_started();
  // The survivor session is active and MONITOR_GC still set (a recording from startup switched):
  // dropped now, before the runtime reads it for this GC's gen0 walk and survivor reports. Not
  // when a control call holds the mask (it may wait for this GC): the next GC drops it then. Nor
  // on a thread of the tracer's own (its guard was held before ours): the startup switch's thread
  // can set off a GC while it holds the mask lock itself.
  if (t_hook_guard == 1 && gc_survivors_from_events() && g_monitor_gc_set.load(std::memory_order_relaxed) &&
      g_mask_mutex.try_lock()) {
    apply_event_mask(g_recording_mask);
    g_mask_mutex.unlock();
  }
  if (!recorder().recording()) return S_OK;
  uint32_t condemned = 0;
  for (int i = 0; i < generations && i < kHeapParts; ++i)
    if (collected[i]) condemned |= 1u << i;
  recorder().gc_started(condemned, static_cast<uint8_t>(reason), generation_ranges(nullptr));
  return S_OK;
}

// MONITOR_GC's survivor callbacks: the survivors when the survivor session was refused. (Until
// the startup settles MONITOR_GC is on for every recording; the session's events then say the same.)
HRESULT moved_references2(void*, ULONG count, ObjectID old_starts[], ObjectID new_starts[], SIZE_T lengths[]) {
  if (gc_survivors_from_events()) return S_OK;
  HookGuard guard;  // the tracer's own allocations are not recorded
  TimedScope timed(TimedScope::kGc);
  recorder().gc_moved(old_starts, new_starts, lengths, count);
  return S_OK;
}

HRESULT surviving_references2(void*, ULONG count, ObjectID starts[], SIZE_T lengths[]) {
  if (gc_survivors_from_events()) return S_OK;
  HookGuard guard;  // the tracer's own allocations are not recorded
  TimedScope timed(TimedScope::kGc);
  recorder().gc_survived(starts, lengths, count);
  return S_OK;
}

HRESULT gc_finished(void*) {
  HookGuard guard;  // the tracer's own allocations are not recorded
  TimedScope timed(TimedScope::kGc);
  uint64_t heap[kHeapParts] = {};
  generation_ranges(heap);
  recorder().gc_finished(heap);
  if (g_switch_state.load(std::memory_order_relaxed) == 1) sem_post(&g_switch_wake);
  return S_OK;
}

// With MONITOR_GC the runtime walks the whole heap after every GC (roots first, then every
// live object of every generation) to report each object's references here; the survivors
// we need come from SurvivingReferences2/MovedReferences2, computed by the GC itself from
// the condemned generations. A failed HRESULT is the documented way to end that walk: it
// stops after the first object, so a gen0 GC no longer costs a pass over the whole heap.
// Counted (once per GC when the walk ends as it should) for the test that holds it so.
std::atomic<uint64_t> g_heap_walk_objects{0};
HRESULT object_references(void*, ObjectID, ClassID, ULONG, ObjectID*) {
  g_heap_walk_objects.fetch_add(1, std::memory_order_relaxed);
  return E_FAIL;
}

HRESULT suspend_started(void*, COR_PRF_SUSPEND_REASON) {
  HookGuard guard;  // the tracer's own allocations are not recorded
  recorder().runtime_suspend_started();
  return S_OK;
}

HRESULT resume_finished(void*) {
  HookGuard guard;  // the tracer's own allocations are not recorded
  recorder().runtime_resume_finished();
  return S_OK;
}

// The first callback after Initialize: concurrent GC is off for good now (see apply_event_mask).
HRESULT thread_created(void*, ThreadID) {
  if (!g_startup_mask_pending.load(std::memory_order_relaxed)) return S_OK;
  std::lock_guard<std::mutex> lock(g_mask_mutex);
  if (g_startup_mask_pending.exchange(false)) apply_event_mask(g_recording_mask);
  return S_OK;
}

HRESULT thread_assigned_to_os_thread(void*, ThreadID thread, DWORD os_thread) {
  HookGuard guard;  // the tracer's own allocations are not recorded
  managed_threads().assigned(thread, os_thread);
  return S_OK;
}

HRESULT thread_destroyed(void*, ThreadID thread) {
  HookGuard guard;  // the tracer's own allocations are not recorded
  managed_threads().destroyed(thread);
  return S_OK;
}

// Both EventPipe sessions of ours deliver here: the survivor session's GC events (exact
// recording) and the sampled session's AllocationSampled events.
HRESULT event_delivered(void* self, EVENTPIPE_PROVIDER provider, DWORD event_id, DWORD event_version, ULONG metadata_size,
                        LPCBYTE metadata, ULONG data_size, LPCBYTE data, LPCGUID activity, LPCGUID related_activity,
                        ThreadID event_thread, ULONG frame_count, UINT_PTR frames[]) {
  if (survivor_event_delivered(event_id, data_size, data)) return S_OK;
  return sampled_event_delivered(self, provider, event_id, event_version, metadata_size, metadata, data_size, data,
                                 activity, related_activity, event_thread, frame_count, frames);
}

HRESULT thread_name_changed(void*, ThreadID thread, ULONG length, WCHAR name[]) {
  HookGuard guard;  // the tracer's own allocations are not recorded
  recorder().thread_named(thread, name ? utf16_to_utf8(name, length) : std::string());
  return S_OK;
}

template <typename F>
void set_slot(int slot, F fn) {
  g_vtable[slot] = reinterpret_cast<void*>(fn);
}

struct VtableInit {
  VtableInit() {
    for (auto& slot : g_vtable) slot = reinterpret_cast<void*>(&ignored);
    set_slot(kSlot_QueryInterface, &query_interface);
    set_slot(kSlot_AddRef, &add_ref);
    set_slot(kSlot_Release, &release);
    set_slot(kSlot_Initialize, &initialize);
    set_slot(kSlot_Shutdown, &shutdown);
    set_slot(kSlot_InitializeForAttach, &initialize_for_attach);
    set_slot(kSlot_ProfilerAttachComplete, &attach_complete);
    set_slot(kSlot_ProfilerDetachSucceeded, &detach_succeeded);
    set_slot(kSlot_EventPipeEventDelivered, &event_delivered);
    set_slot(kSlot_ObjectAllocated, &object_allocated);
    set_slot(kSlot_GarbageCollectionStarted, &gc_started);
    set_slot(kSlot_GarbageCollectionFinished, &gc_finished);
    set_slot(kSlot_MovedReferences2, &moved_references2);
    set_slot(kSlot_SurvivingReferences2, &surviving_references2);
    set_slot(kSlot_ObjectReferences, &object_references);
    set_slot(kSlot_RuntimeSuspendStarted, &suspend_started);
    set_slot(kSlot_RuntimeResumeFinished, &resume_finished);
    set_slot(kSlot_ThreadNameChanged, &thread_name_changed);
    set_slot(kSlot_ThreadCreated, &thread_created);
    set_slot(kSlot_ThreadAssignedToOSThread, &thread_assigned_to_os_thread);
    set_slot(kSlot_ThreadDestroyed, &thread_destroyed);
  }
} g_vtable_init;

}  // namespace

void* profiler_instance() { return &g_profiler; }
ICorProfilerInfo5* profiler_info() { return g_info; }
bool profiler_attached() { return g_attached; }
SymbolSource* runtime_names() { return g_names; }

uint64_t heap_walk_objects() { return g_heap_walk_objects.load(std::memory_order_relaxed); }

bool size_shortcut_enabled() { return g_size_shortcut.load(std::memory_order_relaxed); }

bool set_allocation_events(bool on, bool survivor_events) {
  if (!g_info || g_attached) return false;
  std::lock_guard<std::mutex> lock(g_mask_mutex);
  if (on) {
    // The session first: the survivors of the first GC recorded must reach us.
    std::string error;
    if (survivor_events && g_survivor_events_prepared.load()) start_survivor_session(&error);
    if (!apply_event_mask(true)) {
      stop_survivor_session();
      return false;
    }
  } else {
    if (!apply_event_mask(false)) return false;
    stop_survivor_session();
  }
  g_recording_mask = on;
  return true;
}

bool survivor_events_in_use() {
  return survivor_session_active() && g_switch_state.load(std::memory_order_acquire) != 1;
}

bool prepare_survivor_events(std::string* error) {
  if (!g_info || g_attached) {
    *error = "the survivor events need the tracer loaded at startup as the process's profiler";
    return false;
  }
  std::lock_guard<std::mutex> lock(g_mask_mutex);
  if (g_survivor_events_prepared.load()) return true;
  if (g_recording_mask) {
    *error = "already recording";
    return false;
  }
  if (!start_survivor_session(error)) return false;
  stop_survivor_session();
  g_survivor_events_prepared.store(true);
  return true;
}

}  // namespace memnb
