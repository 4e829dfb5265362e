#include "profiler/thread_registry.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <new>

namespace memnb {

LifetimeBlock* new_lifetime_block() {
  void* mem = mmap(nullptr, sizeof(LifetimeBlock), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return nullptr;
  auto* block = static_cast<LifetimeBlock*>(mem);
  block->next = nullptr;
  block->count = 0;
  return block;
}

void free_lifetime_block(LifetimeBlock* block) { munmap(block, sizeof(LifetimeBlock)); }

bool log_object(ThreadState* ts, uint64_t address, uint64_t id, uint64_t size) {
  LifetimeBlock* block = ts->log_head;
  if (!block || block->count == LifetimeBlock::kCapacity) {
    LifetimeBlock* fresh = ts->log_free;
    if (fresh) {
      ts->log_free = fresh->next;
      fresh->count = 0;
    } else {
      fresh = new_lifetime_block();
      if (!fresh) return false;
    }
    fresh->next = block;
    ts->log_head = fresh;
    block = fresh;
  }
  block->objects[block->count++] = TrackedObject{address, id, size};
  return true;
}

ThreadState* ThreadRegistry::create(size_t ring_capacity, uint64_t managed_id) {
  void* mem = mmap(nullptr, sizeof(ThreadState), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return nullptr;
  auto* ts = new (mem) ThreadState();
  if (!ts->ring.init(ring_capacity)) {
    munmap(mem, sizeof(ThreadState));
    return nullptr;
  }
  ts->os_tid = static_cast<uint32_t>(syscall(SYS_gettid));
  ts->managed_id = managed_id;
  ts->bounds = current_stack_bounds();
  ts->stream = next_stream_.fetch_add(1, std::memory_order_relaxed);
  ThreadState* head = head_.load(std::memory_order_relaxed);
  do {
    ts->next_registered = head;
  } while (!head_.compare_exchange_weak(head, ts, std::memory_order_release, std::memory_order_relaxed));
  return ts;
}

void ThreadRegistry::destroy_all() {
  ThreadState* ts = head_.exchange(nullptr, std::memory_order_acq_rel);
  while (ts) {
    ThreadState* next = ts->next_registered;
    for (LifetimeBlock* b = ts->log_head; b;) {
      LifetimeBlock* n = b->next;
      free_lifetime_block(b);
      b = n;
    }
    for (LifetimeBlock* b = ts->log_free; b;) {
      LifetimeBlock* n = b->next;
      free_lifetime_block(b);
      b = n;
    }
    ts->ring.destroy();
    ts->~ThreadState();
    munmap(ts, sizeof(ThreadState));
    ts = next;
  }
  next_stream_.store(kFirstThreadStream, std::memory_order_release);
}

}  // namespace memnb
