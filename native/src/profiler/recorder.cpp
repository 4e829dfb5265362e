#include "profiler/recorder.h"
#include "profiler/recorder_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <chrono>

#include "common/address_table.h"
#include "common/clock.h"
#include "common/varint.h"
#include "native_hooks/hook_guard.h"
#include "native_hooks/native_hooks.h"

namespace memnb {

using namespace recorder_internal;

namespace recorder_internal {

long futex(std::atomic<uint32_t>* word, int op, uint32_t value, const timespec* timeout) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op, value, timeout, nullptr, 0);
}

uint64_t read_rss_bytes() {
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[128];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  unsigned long size = 0, resident = 0;
  if (sscanf(buf, "%lu %lu", &size, &resident) != 2) return 0;
  return static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace recorder_internal

namespace {

__thread ThreadState* t_state __attribute__((tls_model("initial-exec"))) = nullptr;
__thread uint32_t t_session __attribute__((tls_model("initial-exec"))) = 0;

bool g_membarrier_registered = false;

}  // namespace

Recorder& recorder() {
  static Recorder instance;
  return instance;
}

bool Recorder::start(const char* path, const RecorderOptions& options, SymbolSource* symbols, std::string* error) {
  HookGuard guard;
  std::lock_guard<std::mutex> control(control_mutex_);
  if (recording_.load()) {
    *error = "already recording";
    return false;
  }
  if (options.native && options.aggregate) {
    *error = "native allocations cannot be recorded in an aggregated capture";
    return false;
  }
  options_ = options;
  symbols_ = symbols;
  if (!stacks_.init() || !types_.init(kTypeSlots, kTypes)) {
    *error = "cannot reserve memory for the tracer's tables";
    stacks_.destroy();
    types_.destroy();
    return false;
  }
  gc_pending_.clear();
  gc_chunks_.clear();
  file_.compression_level = options.compression_level;
  aggregator_.clear();
  last_table_ns_ = monotonic_ns();
  uint16_t flags = static_cast<uint16_t>((options.aggregate ? kFlagAggregated : 0) | (options.native ? kFlagNative : 0) |
                                         (options.sampled ? kFlagSampled : 0) | kFlagIlFrames);
  if (!file_.open(path, static_cast<uint32_t>(getpid()), realtime_ns(), flags, error)) {
    stacks_.destroy();
    types_.destroy();
    return false;
  }
  if (!g_membarrier_registered) {
    g_membarrier_registered = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
  }
  meta_.clear();
  meta_prev_ticks_ = 0;
  types_written_ = 0;
  nodes_written_ = 0;
  node_ips_.clear();
  frames_meta_.clear();
  il_frames_pending_.clear();
  managed_modules_written_.clear();  // module indexes are per capture
  managed_modules_indexed_ = 0;
  names_written_.clear();
  modules_written_.clear();
  modules_generation_written_ = 0;
  gc_prev_ticks_ = 0;
  gc_index_ = 0;
  gc_active_ = false;
  lifetimes_.clear();
  frees_.store(0);
  freed_bytes_.store(0);
  dropped_.store(0);
  for (auto& h : heap_bytes_) h.store(0);
  emit_clock();
  flush_meta();

  stop_requested_.store(false);
  crash_flush_requested_.store(0);
  crash_flush_done_.store(0);
  session_.fetch_add(1);
  writer_ = std::thread([this] { writer_main(); });
  {
    std::lock_guard<std::mutex> gc(gc_mutex_);
    recording_.store(true, std::memory_order_seq_cst);
  }
  if (options.native) install_native_hooks(this);
  return true;
}

void Recorder::wait_for_hooks() {
  // Every hook sets in_hook before it re-reads recording_. After this barrier each
  // thread either saw recording_ == false or its in_hook store is visible to us.
  if (!g_membarrier_registered || syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (ThreadState* ts = threads_.first(); ts; ts = ts->next_registered) {
    while (ts->in_hook.load(std::memory_order_acquire) != 0) sched_yield();
  }
}

bool Recorder::stop(std::string* error) {
  HookGuard guard;
  std::lock_guard<std::mutex> control(control_mutex_);
  if (!recording_.load()) {
    *error = "not recording";
    return false;
  }
  {
    std::lock_guard<std::mutex> gc(gc_mutex_);
    recording_.store(false, std::memory_order_seq_cst);
  }
  if (options_.native) uninstall_native_hooks();
  wait_for_hooks();
  stop_requested_.store(true);
  wake_writer();
  writer_.join();
  bool ok = !file_.failed();
  if (!ok) *error = file_.error();
  file_.close();
  lifetimes_.clear();
  recycle_gc_blocks();
  threads_.destroy_all();
  stacks_.destroy();
  types_.destroy();
  return ok;
}

uint64_t Recorder::allocations() const {
  uint64_t n = 0;
  for (ThreadState* ts = threads_.first(); ts; ts = ts->next_registered) n += ts->allocations.load(std::memory_order_relaxed);
  return n;
}

uint64_t Recorder::native_allocations() const {
  uint64_t n = 0;
  for (ThreadState* ts = threads_.first(); ts; ts = ts->next_registered) n += ts->native_allocations.load(std::memory_order_relaxed);
  return n;
}

uint64_t Recorder::tracked_live_bytes() const {
  uint64_t allocated = 0;
  for (ThreadState* ts = threads_.first(); ts; ts = ts->next_registered) allocated += ts->allocated_bytes.load(std::memory_order_relaxed);
  uint64_t freed = freed_bytes_.load(std::memory_order_relaxed);
  return allocated > freed ? allocated - freed : 0;
}

void Recorder::flush_for_crash(int timeout_ms) {
  if (!recording_.load(std::memory_order_relaxed)) return;
  crash_flush_requested_.store(1, std::memory_order_release);
  wake_writer();
  timespec timeout{timeout_ms / 1000, static_cast<long>(timeout_ms % 1000) * 1000000L};
  while (crash_flush_done_.load(std::memory_order_acquire) == 0) {
    if (futex(&crash_flush_done_, FUTEX_WAIT_PRIVATE, 0, &timeout) != 0 && errno == ETIMEDOUT) break;
  }
}

void Recorder::wake_writer() {
  wake_word_.fetch_add(1, std::memory_order_release);
  futex(&wake_word_, FUTEX_WAKE_PRIVATE, 1, nullptr);
}

// ---------------------------------------------------------------- hot path

ThreadState* Recorder::thread_state(uint64_t (*managed_id)()) {
  uint32_t session = session_.load(std::memory_order_relaxed);
  if (t_session == session && t_state) return t_state;
  HookGuard guard;  // setting up the thread allocates (pthread attributes)
  ThreadState* ts = threads_.create(options_.thread_ring_bytes, managed_id ? managed_id() : 0);
  t_state = ts;
  t_session = session;
  return ts;
}

uint32_t Recorder::intern_stack(ThreadState* ts, const uintptr_t* ips, int depth, int from_walk, bool learn_osr) {
  // Whatever happens below, outer_ips is the walk's result only if it is all interned.
  uint64_t walk = from_walk >= 0 ? ts->walk.walks : 0;
  ts->outer_walk = 0;
  if (depth <= 0) return 0;
  // ips are innermost first: ips[depth - 1 - j] is the frame at distance j from the outermost.
  int limit = depth < ts->last_depth ? depth : ts->last_depth;
  // The walk's unchanged outer frames need no comparing (walk_hint).
  int shared = from_walk > limit ? limit : from_walk > 0 ? from_walk : 0;
  const uintptr_t* outer = ips + depth - 1;
  while (shared < limit && outer[-shared] == ts->outer_ips[shared]) ++shared;
  if (shared == depth && depth == ts->last_depth) {
    ts->outer_walk = walk;
    return ts->outer_nodes[depth - 1];
  }
  uint32_t parent = shared > 0 ? ts->outer_nodes[shared - 1] : 0;
  for (int j = shared; j < depth; ++j) ts->outer_ips[j] = outer[-j];
  int first_new = -1;  // j of the first node this call added (all below it are new too)
  int interned = stacks_.intern_path(parent, ts->outer_ips + shared, depth - shared, ts->outer_nodes + shared,
                                     &ts->stack_cache, &first_new);
  if (first_new >= 0) first_new += shared;
  if (__builtin_expect(interned < depth - shared, 0)) {
    // Out of memory for the tree: the stack is cut at its outer part (counted as dropped).
    dropped_.fetch_add(1, std::memory_order_relaxed);
    ts->last_depth = shared + interned;
    return shared + interned > 0 ? ts->outer_nodes[shared + interned - 1] : 0;
  }
  parent = ts->outer_nodes[depth - 1];
  ts->last_depth = depth;
  ts->outer_walk = walk;
  if (__builtin_expect(first_new >= 0, 0) && learn_osr && learn_osr_sites(ips, depth, depth - 1 - first_new))
    ts->osr_learned = true;
  return parent;
}

uint32_t Recorder::intern_walked_stack(ThreadState* ts, const uintptr_t* ips, int depth, int from_walk) {
  uint32_t stack = intern_stack(ts, ips, depth, from_walk);
  if (__builtin_expect(ts->osr_learned, 0)) {
    // A frame of this stack was an OSR frame followed as is: walked again, now fixed.
    uintptr_t again[kMaxFrames];
    int walked = walk_from_first_managed(again, kMaxFrames, ts->bounds, &ts->prefix, &ts->base, nullptr);
    if (walked > 0) stack = intern_stack(ts, again, walked);
    ts->osr_learned = false;
  }
  return stack;
}

namespace {
// learn_osr_sites' verdict per return address: 1 not a site, 2 a site (absent: not known yet).
// A program has a few thousand return addresses: each is looked at once, through the runtime.
AddressTable<size_t{1} << 15, 32> g_verdicts;

// The target of the direct call (E8 rel32) that ends just before a return address in code the
// runtime knows, or 0.
uintptr_t direct_call_target(uintptr_t ret) {
  const uint8_t* code = reinterpret_cast<const uint8_t*>(ret);
  if (code[-5] != 0xE8) return 0;
  int32_t rel;
  memcpy(&rel, code - 4, 4);
  return ret + static_cast<intptr_t>(rel);
}
}  // namespace

bool Recorder::learn_osr_sites(const uintptr_t* ips, int depth, int newest) {
  // A site is a return address in managed code right after a direct call into native code
  // (managed code calls managed code through stubs), in the same method as the frame inside
  // it: only the tier-0 code's call to the patchpoint helper, shown by an optimized (OSR) frame
  // of the method, looks like that. Code bytes are read only where the runtime says there is
  // managed code.
  bool learned = false;
  if (newest > depth - 1) newest = depth - 1;
  for (int k = 1; k <= newest; ++k) {
    uintptr_t ret = ips[k];
    uint64_t v = g_verdicts.find(ret);
    if (v == 1) continue;
    if (v == 2) {
      learned = true;  // a site the walk did not know yet (learned meanwhile by another thread)
      continue;
    }
    if (module_map().is_native(ret) || !symbols_) {
      if (symbols_) g_verdicts.insert(ret, 1);
      continue;
    }
    uint64_t outer = symbols_->function_of(ret);
    uintptr_t target = outer != 0 ? direct_call_target(ret) : 0;
    if (target == 0 || !module_map().is_native(target)) {
      g_verdicts.insert(ret, 1);
      continue;
    }
    uint64_t inner = symbols_->function_of(ips[k - 1]);
    if (inner == 0) continue;  // native code inside (the helper itself running): no verdict
    if (inner != outer) {
      g_verdicts.insert(ret, 1);
      continue;
    }
    g_verdicts.insert(ret, 2);
    uint32_t before = osr_site_count();
    add_osr_site(ret);
    learned |= osr_site_count() != before;
  }
  return learned;
}

int64_t Recorder::intern_type(ThreadState* ts, uint64_t class_id) {
  int64_t type = ts->last_type;
  if (class_id != ts->last_class_id || type < 0) {
    type = types_.intern(class_id);
    ts->last_class_id = class_id;
    ts->last_type = type;
  }
  return type;
}

void Recorder::record_allocation(ThreadState* ts, uint64_t address, uint64_t class_id, uint64_t size, const uintptr_t* ips,
                                 int depth) {
  record_typed_allocation(ts, address, intern_type(ts, class_id), size, ips, depth);
}

void Recorder::record_typed_allocation(ThreadState* ts, uint64_t address, int64_t type, uint64_t size, const uintptr_t* ips,
                                       int depth, uint64_t* marks, int from_walk, uint64_t tsc) {
  if (type < 0) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  uint32_t stack = intern_walked_stack(ts, ips, depth, from_walk);
  if (marks) marks[0] = __rdtsc();

  uint64_t ticks = alloc_ticks(ts, tsc ? tsc : __rdtsc());
  push_encoded<1 + 5 * kMaxVarintBytes>(
      ts, [&](uint8_t* p) { return put_alloc_fields(p, kTagAlloc, ts, ticks, type, size, stack, address); });
  if (marks) marks[1] = __rdtsc();
  log_object(ts, address, make_object_id(ts->stream, ts->next_seq), size);
  note_allocation(ts, ticks, stack, address, size);
  if (marks) marks[2] = __rdtsc();
}

void Recorder::push_thread_record(ThreadState* ts, const uint8_t* record, size_t len) {
  SpscRing& ring = ts->ring;
  size_t half = ring.capacity() / 2;
  size_t used = ring.used();
  while (ring.capacity() - used < len) {
    // Back-pressure: the writer is behind. Rare; never drop a record.
    wake_writer();
    sched_yield();
    used = ring.used();
  }
  ring.push(record, len);
  if (used <= half && used + len > half) wake_writer();
}

void Recorder::record_native_alloc(ThreadState* ts, uint8_t allocator, uint64_t address, uint64_t size,
                                   const uintptr_t* ips, int depth, uint64_t tsc) {
  // No OSR sites are learned here (the runtime cannot be asked from inside a malloc), but the
  // ones the managed hooks learned are repaired by the native walker too (finish_managed).
  uint32_t stack = intern_stack(ts, ips, depth, -1, false);
  uint64_t ticks = stream_ticks((tsc ? tsc : __rdtsc()) >> kTickShift, ts->prev_ticks);
  push_encoded<2 + 4 * kMaxVarintBytes>(ts, [&](uint8_t* p) {
    *p++ = kTagNativeAlloc;
    p = put_varint(p, ticks - ts->prev_ticks);
    *p++ = allocator;
    p = put_varint(p, size);
    p = put_svarint(p, static_cast<int64_t>(stack) - static_cast<int64_t>(ts->prev_stack));
    return put_varint(p, address);
  });
  ts->prev_ticks = ticks;
  ts->prev_stack = stack;
  ts->next_seq++;  // NATIVE_ALLOC and ALLOC share the stream's sequence numbers
  ts->native_allocations.store(ts->native_allocations.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void Recorder::record_native_free(ThreadState* ts, uint8_t kind, uint64_t address, uint64_t size, uint64_t tsc) {
  uint64_t ticks = stream_ticks((tsc ? tsc : __rdtsc()) >> kTickShift, ts->prev_ticks);
  push_encoded<2 + 3 * kMaxVarintBytes>(ts, [&](uint8_t* p) {
    *p++ = kTagNativeFree;
    p = put_varint(p, ticks - ts->prev_ticks);
    *p++ = kind;
    p = put_varint(p, address);
    return put_varint(p, size);
  });
  ts->prev_ticks = ticks;
}

// ---------------------------------------------------------------- GC callbacks

void Recorder::thread_named(uint64_t managed_id, const std::string& name) {
  std::lock_guard<std::mutex> lock(names_mutex_);
  thread_names_[managed_id] = name;
}

// ---------------------------------------------------------------- writer thread

}  // namespace memnb
