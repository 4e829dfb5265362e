// The recording session: hot-path encoding into per-thread rings, GC lifetime
// bookkeeping, and the writer thread that turns rings and tables into capture chunks.
// Independent of the CLR interfaces (names come through SymbolSource), so tests drive it
// directly.
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "aggregate/aggregator.h"
#include "common/clock.h"
#include "common/spsc_ring.h"
#include "common/varint.h"
#include "lifetime/lifetime_tracker.h"
#include "profiler/thread_registry.h"
#include "stacks/intern_tables.h"
#include "stacks/module_map.h"
#include "writer/capture_writer.h"
#include "writer/record_buffer.h"

namespace memnb {

enum FrameKind : uint8_t { kFrameManaged = 0, kFrameNative = 1, kFrameUnknown = 2 };

struct FrameDescription {
  FrameKind kind = kFrameUnknown;
  std::string function;
  std::string module;
  uint64_t offset = 0;
  // A managed frame's position in its method's IL (IL_FRAME): the runtime's module, the method's
  // metadata token and the IL offset of the call the return address follows.
  bool has_il = false;
  uint64_t module_id = 0;
  uint32_t method_token = 0;
  uint32_t il_offset = 0;
};

// What a reader needs to find a managed module's portable PDB (MANAGED_MODULE, MODULE_SYMBOLS).
struct ManagedModuleDescription {
  std::string path;               // the file the runtime loaded, empty for a module loaded from memory
  std::string name;               // the runtime's name of the module (a simple name for an in-memory one)
  std::vector<uint8_t> symbols;   // symbols loaded with it from memory (a portable PDB), if any
};

// Resolves names on the writer thread (never inside a hook).
class SymbolSource {
 public:
  virtual ~SymbolSource() = default;
  virtual std::string type_name(uint64_t class_id) = 0;
  virtual FrameDescription describe_frame(uint64_t ip) = 0;
  // The module of a frame with has_il; false when the runtime no longer knows it.
  virtual bool describe_module(uint64_t /*module_id*/, ManagedModuleDescription* /*out*/) { return false; }
  // The managed function whose code holds ip (any of its code versions), 0 for none. Called
  // from an allocation hook, rarely (Recorder::learn_osr_sites).
  virtual uint64_t function_of(uint64_t /*ip*/) { return 0; }
};

struct RecorderOptions {
  size_t thread_ring_bytes = 4u << 20;
  int flush_interval_ms = 10;
  int compression_level = 1;
  // Write per-(stack, type) totals instead of every allocation (docs/capture-format.md).
  bool aggregate = false;
  int aggregate_table_interval_ms = 10000;
  // SAMPLED_ALLOC records from the runtime's allocation sampling (header flag bit 2).
  bool sampled = false;
  // Record native allocations too (GOT hooks, native_hooks/); not with aggregate.
  bool native = false;
};

constexpr int kHeapParts = 5;  // gen0, gen1, gen2, LOH, POH

class Recorder {
 public:
  bool start(const char* path, const RecorderOptions& options, SymbolSource* symbols, std::string* error);
  // Stops recording, waits for hooks in flight, writes everything and END. Returns false
  // (with the reason) if the file could not be written completely.
  bool stop(std::string* error);
  // From a fatal-signal handler: asks the writer to write out everything committed so
  // far and waits for it (bounded). Async-signal-safe. The capture then has no END.
  void flush_for_crash(int timeout_ms);
  bool recording() const { return recording_.load(std::memory_order_relaxed); }
  uint32_t session() const { return session_.load(std::memory_order_relaxed); }

  // Hot path, on the allocating thread. ips are innermost first.
  // managed_id is called only when the thread gets its state (first allocation).
  ThreadState* thread_state(uint64_t (*managed_id)());
  void record_allocation(ThreadState* ts, uint64_t address, uint64_t class_id, uint64_t size, const uintptr_t* ips, int depth);
  // The same in two steps: the type index first (-1 when the type table is full).
  int64_t intern_type(ThreadState* ts, uint64_t class_id);
  // marks (timed allocations only, common/hot_path_timing.h): cycle counts after interning the
  // stack, after pushing the record and after logging the object. from_walk: walk_hint(ts) when
  // ips are the thread's walk with its cache just now, -1 when they come from elsewhere. tsc: the
  // counter read at the hook's entry (its ~36-cycle latency then overlaps the walk instead of
  // holding up the encoding), 0 to read it here.
  void record_typed_allocation(ThreadState* ts, uint64_t address, int64_t type, uint64_t size, const uintptr_t* ips, int depth,
                               uint64_t* marks = nullptr, int from_walk = -1, uint64_t tsc = 0);
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // A sampled object (sampling/sampled_record.cpp): SAMPLED_ALLOC instead of ALLOC.
  void record_sampled_allocation(ThreadState* ts, uint64_t address, int64_t type, uint64_t size, uint64_t sampled_byte_offset,
                                 uint8_t kind, const uintptr_t* ips, int depth);
  // A large object recorded exactly in a sampled capture (ObjectAllocated with
  // COR_PRF_HIGH_MONITOR_LARGEOBJECT_ALLOCATED): a SAMPLED_ALLOC with the exact bit, weight 1.
  void record_exact_large_allocation(ThreadState* ts, uint64_t address, int64_t type, uint64_t size, const uintptr_t* ips,
                                     int depth);
  bool sampled() const { return options_.sampled; }
  // The writer has named an allocation of the runtime's managed NativeRuntimeEventSource: the
  // event source that an EventPipe session on the runtime provider commands (startup_switch.h).
  bool runtime_event_source_seen() const { return runtime_event_source_seen_.load(std::memory_order_acquire); }
  // Whether the object-size shortcut was checked against the runtime for this type.
  bool size_checked(int64_t type) const { return types_.size_checked(type); }
  void mark_size_checked(int64_t type) { types_.mark_size_checked(type); }

  // Native hooks (native_hooks/), on the allocating or freeing thread. tsc: the time-stamp counter read by the
  // hook (after the allocator returned the block, before a release hands it back), 0 to read it here.
  void record_native_alloc(ThreadState* ts, uint8_t allocator, uint64_t address, uint64_t size, const uintptr_t* ips,
                           int depth, uint64_t tsc = 0);
  void record_native_free(ThreadState* ts, uint8_t kind, uint64_t address, uint64_t size, uint64_t tsc = 0);
  uint64_t native_allocations() const;
  // After a dlopen: the objects loaded now are described in the next cycle even if
  // they are gone by then.
  void modules_changed();

  // GC callbacks (one GC at a time, managed threads suspended).
  void gc_started(uint32_t condemned, uint8_t reason, std::vector<GenerationRange> ranges);
  void gc_moved(const uint64_t* old_starts, const uint64_t* new_starts, const uint64_t* lengths, size_t count);
  void gc_survived(const uint64_t* starts, const uint64_t* lengths, size_t count);
  void gc_survivor_ranges(const SurvivorRanges& ranges);
  void gc_finished(const uint64_t heap_bytes[kHeapParts]);
  void runtime_suspend_started();
  void runtime_resume_finished();

  void thread_named(uint64_t managed_id, const std::string& name);

  uint64_t allocations() const;
  uint64_t frees() const { return frees_.load(std::memory_order_relaxed); }

 private:
  void writer_main();
  void writer_cycle(bool final);
  void emit_meta();
  void emit_snapshot();
  void emit_clock();
  void flush_meta();
  void push_gc(const RecordBuffer& record);
  void push_thread_record(ThreadState* ts, const uint8_t* record, size_t len);
  // A record of at most N bytes encoded by encode(p) (which returns its end) straight into the
  // ring where N bytes fit before the end of its storage, else into a buffer pushed as above:
  // every ALLOC, SAMPLED_ALLOC, NATIVE_ALLOC and NATIVE_FREE. Encoding into a buffer and copying
  // it out cost a store-forwarding stall (the varints' byte stores read back as 16-byte loads).
  static constexpr size_t kRingPrefetchAhead = 512;
  template <size_t N, typename Encode>
  void push_encoded(ThreadState* ts, Encode encode) {
    SpscRing& ring = ts->ring;
    size_t used = ring.used();
    uint8_t* at = ring.capacity() - used >= N ? ring.contiguous(N) : nullptr;
    if (__builtin_expect(!at, 0)) {
      uint8_t record[N];
      push_thread_record(ts, record, static_cast<size_t>(encode(record) - record));
      return;
    }
    size_t len = static_cast<size_t>(encode(at) - at);
    ring.publish(len);
    ring.prefetch_ahead(kRingPrefetchAhead);
    size_t half = ring.capacity() / 2;
    if (used <= half && used + len > half) wake_writer();
  }

  // ALLOC and SAMPLED_ALLOC: the tag and the fields both have (dt, type, size, stack and address as
  // differences from the stream's previous record); returns where the record goes on.
  static uint8_t* put_alloc_fields(uint8_t* p, uint8_t tag, const ThreadState* ts, uint64_t ticks, int64_t type,
                                   uint64_t size, uint32_t stack, uint64_t address) {
    *p++ = tag;
    p = put_varint(p, ticks - ts->prev_ticks);
    p = put_varint(p, static_cast<uint64_t>(type));
    p = put_varint(p, size);
    p = put_svarint(p, static_cast<int64_t>(stack) - static_cast<int64_t>(ts->prev_stack));
    return put_svarint(p, static_cast<int64_t>(address - ts->prev_end_address));
  }

  // An ALLOC's time: the counter rounded down to kAllocTickQuantum ticks, never before the
  // stream's previous record (common/clock.h). The low bits of the time between two allocations
  // are noise that zstd cannot squeeze: with them the writer spent a third more CPU on an
  // allocation-bound loop and captures were half as large again (docs/architecture.md, "The hot
  // path and its budget"). Only ALLOC:
  // managed objects die in GCs, which no allocation comes near (every managed thread is suspended),
  // while native frees are matched across threads by time and keep every tick.
  // tsc: the counter as read (__rdtsc()).
  static uint64_t alloc_ticks(const ThreadState* ts, uint64_t tsc) { return round_alloc_ticks(tsc >> kTickShift, ts->prev_ticks); }

  // After an ALLOC or SAMPLED_ALLOC is pushed: the stream's previous record, its sequence number and totals.
  static void note_allocation(ThreadState* ts, uint64_t ticks, uint32_t stack, uint64_t address, uint64_t size) {
    ts->prev_ticks = ticks;
    ts->prev_stack = stack;
    ts->prev_end_address = address + size;
    ts->next_seq++;
    ts->allocated_bytes.store(ts->allocated_bytes.load(std::memory_order_relaxed) + size, std::memory_order_relaxed);
    ts->allocations.store(ts->allocations.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  void emit_modules();
  void emit_il_frame(const FrameDescription& f, uint64_t ip);
  void push_gc_mark(uint8_t tag);
  void wake_writer();
  void wait_for_hooks();
  // from_walk: as for record_typed_allocation.
  // learn_osr: look for OSR sites among new nodes (learn_osr_sites asks the runtime; not from a
  // native allocation hook, which can run while the runtime holds its own locks).
  uint32_t intern_stack(ThreadState* ts, const uintptr_t* ips, int depth, int from_walk = -1, bool learn_osr = true);
  // Among a stack's new frames (from ips[0] out to ips[newest]), the return sites of tier-0
  // code's calls to the runtime's patchpoint helper that an optimized frame of the same method
  // shows as its return address (stacks/frame_walker.h, "On-stack replacement"); true when it
  // learned one, and the allocation is walked again.
  bool learn_osr_sites(const uintptr_t* ips, int depth, int newest);
  // intern_stack for a stack walked by walk_from_first_managed in the allocation hook: walked
  // again when it showed an OSR site not known before.
  uint32_t intern_walked_stack(ThreadState* ts, const uintptr_t* ips, int depth, int from_walk = -1);
  uint64_t tracked_live_bytes() const;
  void recycle_gc_blocks();
  static void sort_by_id(std::vector<TrackedObject>* objects, std::vector<TrackedObject>* scratch);

  std::atomic<bool> recording_{false};
  std::atomic<uint32_t> session_{0};
  std::atomic<bool> stop_requested_{false};
  std::atomic<uint32_t> crash_flush_requested_{0};
  std::atomic<uint32_t> crash_flush_done_{0};
  std::atomic<uint32_t> wake_word_{0};
  std::mutex control_mutex_;
  std::mutex gc_mutex_;
  RecorderOptions options_;
  SymbolSource* symbols_ = nullptr;
  std::thread writer_;

  ThreadRegistry threads_;
  StackTable stacks_;
  TypeTable types_;
  CaptureWriter file_;

  // GC stream: records appended under gc_mutex_ by the thread running GC callbacks and
  // taken whole by the writer. Unbounded on purpose: a GC never waits for the writer
  // (the writer may be inside the runtime, which may be waiting for the GC).
  // Blocks of at most kGcChunkBytes (plus one record) so each fits a chunk.
  std::vector<RecordBuffer> gc_pending_;
  std::vector<RecordBuffer> gc_chunks_;
  uint64_t gc_prev_ticks_ = 0;
  uint64_t gc_index_ = 0;
  bool gc_active_ = false;
  LifetimeTracker lifetimes_;
  std::vector<TrackedObject> dead_;
  std::vector<TrackedObject> dead_sorted_;
  std::vector<std::pair<ThreadState*, LifetimeBlock*>> gc_blocks_;
  std::atomic<uint64_t> frees_{0};
  std::atomic<uint64_t> freed_bytes_{0};
  std::atomic<uint64_t> heap_bytes_[kHeapParts] = {};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<bool> runtime_event_source_seen_{false};

  // Writer-thread state.
  Aggregator aggregator_;
  uint64_t last_table_ns_ = 0;
  RecordBuffer gc_kept_;
  RecordBuffer meta_;
  uint64_t meta_prev_ticks_ = 0;
  uint32_t types_written_ = 0;
  uint32_t nodes_written_ = 0;
  // The ips of the stack nodes written, numbered in order of first appearance (STACK_NODES
  // refers to an ip by that number); a FRAME record describes each when it first appears,
  // after the STACK_NODES record, and the IL position of a managed one after that.
  std::unordered_map<uint64_t, uint32_t> node_ips_;
  RecordBuffer frames_meta_;
  std::vector<std::pair<FrameDescription, uint64_t>> il_frames_pending_;
  std::unordered_map<uint64_t, uint64_t> managed_modules_written_;  // runtime ModuleID -> MANAGED_MODULE index (0: none)
  uint64_t managed_modules_indexed_ = 0;
  std::vector<uint8_t> scratch_;
  uint64_t last_snapshot_ns_ = 0;
  uint64_t modules_generation_written_ = 0;
  std::unordered_map<std::string, uint64_t> modules_written_;  // path -> load base
  std::mutex modules_mutex_;
  std::vector<LoadedModule> pending_modules_;

  std::mutex names_mutex_;
  std::unordered_map<uint64_t, std::string> thread_names_;  // managed id -> name
  std::unordered_map<uint32_t, std::string> names_written_;  // os tid -> name
};

Recorder& recorder();

}  // namespace memnb
