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
  block->big_count = 0;
  return block;
}

void free_lifetime_block(LifetimeBlock* block) { munmap(block, sizeof(LifetimeBlock)); }

bool log_object(ThreadState* ts, uint64_t address, uint64_t id, uint64_t size) {
  LifetimeBlock* block = ts->log_head;
  // The line 512 bytes on, brought in for writing ahead of the stores (SpscRing::prefetch_ahead).
  if (block && block->count + 32 < LifetimeBlock::kCapacity) __builtin_prefetch(&block->objects[block->count + 32], 1);
  if (block && block->count < LifetimeBlock::kCapacity &&
      append_logged(block->objects, &block->count, block->big, &block->big_count, LifetimeBlock::kBigCapacity, address, id, size))
    return true;
  LifetimeBlock* fresh = ts->log_free;
  if (fresh) {
    ts->log_free = fresh->next;
  } else if ((fresh = static_cast<LifetimeBlock*>(ts->log_ready.take())) == nullptr) {
    fresh = new_lifetime_block();
    if (!fresh) return false;
  }
  fresh->count = 0;
  fresh->big_count = 0;
  fresh->next = block;
  ts->log_head = fresh;
  return append_logged(fresh->objects, &fresh->count, fresh->big, &fresh->big_count, LifetimeBlock::kBigCapacity, address, id, size);
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

ManagedThreads& managed_threads() {
  static ManagedThreads* threads = new ManagedThreads();  // never destroyed: callbacks may come during exit
  return *threads;
}

void ManagedThreads::assigned(uint64_t managed_id, uint32_t os_tid) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, added] = by_os_tid_.try_emplace(os_tid, Entry{managed_id, false});
  if (!added) {
    if (it->second.destroyed) --destroyed_;
    it->second = Entry{managed_id, false};
  }
}

void ManagedThreads::destroyed(uint64_t managed_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [os_tid, entry] : by_os_tid_) {
    if (entry.managed_id == managed_id && !entry.destroyed) {
      entry.destroyed = true;
      if (++destroyed_ > kMaxDestroyed) forget_destroyed_locked();
      return;
    }
  }
}

uint64_t ManagedThreads::managed_id(uint32_t os_tid) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = by_os_tid_.find(os_tid);
  return it == by_os_tid_.end() ? 0 : it->second.managed_id;
}

void ManagedThreads::forget_destroyed() {
  std::lock_guard<std::mutex> lock(mutex_);
  forget_destroyed_locked();
}

void ManagedThreads::forget_destroyed_locked() {
  if (destroyed_ == 0) return;
  for (auto it = by_os_tid_.begin(); it != by_os_tid_.end();) {
    if (it->second.destroyed)
      it = by_os_tid_.erase(it);
    else
      ++it;
  }
  destroyed_ = 0;
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
