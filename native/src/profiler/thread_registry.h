// Per-thread recording state. Each thread that allocates while recording gets one
// ThreadState (its own record ring, encoder state and lifetime log), reached through an
// initial-exec thread_local pointer, so the hot path touches nothing shared. States are
// owned by the registry and outlive their threads until recording stops.
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "common/ready_blocks.h"
#include "common/spsc_ring.h"
#include "lifetime/lifetime_tracker.h"
#include "stacks/frame_walker.h"
#include "stacks/intern_tables.h"
#include "stacks/module_map.h"

namespace memnb {

constexpr int kMaxFrames = 128;
constexpr uint32_t kFirstThreadStream = 2;

// Append-only log of the objects a thread allocated since the last GC. The owning
// thread appends; the GC thread takes the blocks while every managed thread is suspended.
// Objects as append_logged writes them: the big ones' entries beside the objects (a block whose
// entries are full is full).
struct LifetimeBlock {
  static constexpr size_t kCapacity = 32768;
  static constexpr size_t kBigCapacity = 256;
  LifetimeBlock* next;
  size_t count;
  size_t big_count;
  BigObject big[kBigCapacity];
  TrackedObject objects[kCapacity];
};

struct ThreadState {
  uint32_t stream;
  uint32_t os_tid;
  uint64_t managed_id;
  StackBounds bounds;
  SpscRing ring;

  // Encoder state of the thread stream (owner thread only).
  uint64_t prev_ticks = 0;
  uint64_t prev_end_address = 0;
  uint32_t prev_stack = 0;
  uint64_t next_seq = 0;

  // Last stack seen, outermost frame first (so that the part a new stack shares with it
  // stays in place whatever the depths), for reusing the outer part of its tree path:
  // outer_nodes[j] is the node of the path outer_ips[0..j].
  int last_depth = 0;
  uintptr_t outer_ips[kMaxFrames];
  uint32_t outer_nodes[kMaxFrames];

  // outer_ips holds the result of the walk numbered outer_walk (walk.walks), or of no walk (0).
  uint64_t outer_walk = 0;

  StackCache stack_cache;
  PrefixMemo prefix;
  ThreadBase base;
  bool osr_learned = false;  // intern_stack learned an OSR site: the allocation is walked again
  WalkCache walk;
  ModuleCache modules;  // is_native's last answers, for the native walker
  uint32_t timing_countdown = 0;  // common/hot_path_timing.h
  uint64_t last_class_id = 0;  // one-entry cache in front of the type table
  int64_t last_type = -1;

  std::atomic<uint64_t> allocated_bytes{0};  // written by the owner only
  std::atomic<uint64_t> allocations{0};
  std::atomic<uint64_t> native_allocations{0};  // written by the owner only
  std::atomic<uint32_t> in_hook{0};

  LifetimeBlock* log_head = nullptr;  // newest block first
  LifetimeBlock* log_free = nullptr;  // emptied blocks for reuse
  // New blocks made ready by the writer (common/ready_blocks.h) for a log that outgrows its blocks.
  ReadyBlocks<2> log_ready{sizeof(LifetimeBlock)};

  ThreadState* next_registered = nullptr;
  bool described = false;  // THREAD record written (writer thread only)
  uint64_t described_managed_id = 0;  // the managed id that record carried (writer thread only)
};

// How many outermost frames of the thread's last walk are known to equal the stack last
// interned (intern_stack's hint): the walk's unchanged part when the stack interned last is
// the previous walk's result, else none. Call right after the walk. Where the hint covers
// them, the outer frames stay out of ips: intern_stack does not read them.
// ips[0 .. depth) is whole after this (the walk may have left its unchanged outer part out).
inline int walk_hint(ThreadState* ts, uintptr_t* ips, int depth) {
  int hint = ts->outer_walk != 0 && ts->outer_walk + 1 == ts->walk.walks ? ts->walk.unchanged_outer : 0;
  if (hint > depth) hint = depth;
  if (hint > ts->last_depth) hint = ts->last_depth;
  if (hint < ts->walk.unfilled) fill_outer(ips, depth, &ts->walk);
  return hint;
}

class ThreadRegistry {
 public:
  // Creates and registers a state for the calling thread (not on the per-allocation path).
  ThreadState* create(size_t ring_capacity, uint64_t managed_id);
  ThreadState* first() const { return head_.load(std::memory_order_acquire); }
  uint32_t count() const { return next_stream_.load(std::memory_order_acquire) - kFirstThreadStream; }
  // Frees every state. Only once no thread can touch them (recording stopped and quiesced).
  void destroy_all();

 private:
  std::atomic<ThreadState*> head_{nullptr};
  std::atomic<uint32_t> next_stream_{kFirstThreadStream};
};

// Which managed thread runs on which OS thread, from the runtime's ThreadAssignedToOSThread and
// ThreadDestroyed callbacks, for the whole process (not per recording). A native hook often meets a
// thread before the runtime knows it as managed (the runtime's own mallocs while it sets the thread up),
// so its state is registered with managed id 0; the writer fills it in from here when the runtime
// assigns it. A thread may end before the next writer cycle: its entry stays until the writer has
// looked (forget_destroyed), so an OS thread id is mistaken only if reused within one cycle.
class ManagedThreads {
 public:
  void assigned(uint64_t managed_id, uint32_t os_tid);
  void destroyed(uint64_t managed_id);
  uint64_t managed_id(uint32_t os_tid) const;  // 0 when none
  void forget_destroyed();
 private:
  struct Entry {
    uint64_t managed_id;
    bool destroyed;
  };
  // Ended threads kept at most, when no writer forgets them (not recording).
  static constexpr size_t kMaxDestroyed = 1024;
  mutable std::mutex mutex_;
  std::unordered_map<uint32_t, Entry> by_os_tid_;
  size_t destroyed_ = 0;
  void forget_destroyed_locked();
};
ManagedThreads& managed_threads();

// Appends to the thread's lifetime log; a new block comes from an anonymous mapping.
bool log_object(ThreadState* ts, uint64_t address, uint64_t id, uint64_t size);
LifetimeBlock* new_lifetime_block();
void free_lifetime_block(LifetimeBlock* block);

}  // namespace memnb
