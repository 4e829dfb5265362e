// The recorder's GC callbacks: lifetimes settled while managed threads are suspended.
#include <linux/futex.h>
#include <sched.h>

#include <algorithm>
#include <mutex>

#include "common/clock.h"
#include "common/varint.h"
#include "profiler/recorder.h"
#include "profiler/recorder_internal.h"

namespace memnb {

using namespace recorder_internal;

void Recorder::push_gc(const RecordBuffer& record) {
  if (gc_pending_.empty() || gc_pending_.back().size() >= kGcChunkBytes) gc_pending_.emplace_back();
  gc_pending_.back().append(record);
}

void Recorder::gc_started(uint32_t condemned, uint8_t reason, std::vector<GenerationRange> ranges) {
  std::lock_guard<std::mutex> gc(gc_mutex_);
  if (!recording_.load(std::memory_order_relaxed)) return;
  gc_active_ = true;
  recycle_gc_blocks();
  // Every managed thread is suspended: take the objects they logged since the last GC.
  // The blocks are read in place and go back to their threads when the GC is settled.
  for (ThreadState* ts = threads_.first(); ts; ts = ts->next_registered) {
    size_t first = gc_blocks_.size();
    for (LifetimeBlock* block = ts->log_head; block; block = block->next) gc_blocks_.emplace_back(ts, block);
    ts->log_head = nullptr;
    // Newest first in the log: hand them over oldest first, in allocation order.
    std::reverse(gc_blocks_.begin() + static_cast<long>(first), gc_blocks_.end());
  }
  for (auto& [ts, block] : gc_blocks_) lifetimes_.add(block->objects, block->count, block->big, block->big_count);
  lifetimes_.begin_gc(condemned, std::move(ranges));
  ++gc_index_;
  RecordBuffer r;
  uint64_t ticks = stream_ticks(now_ticks(), gc_prev_ticks_);
  r.u8(kTagGcStart);
  r.varint(ticks - gc_prev_ticks_);
  r.u8(static_cast<uint8_t>(condemned));
  r.u8(reason);
  r.varint(gc_index_);
  r.varint(lifetimes_.live_bytes());
  gc_prev_ticks_ = ticks;
  push_gc(r);
}

void Recorder::recycle_gc_blocks() {
  for (auto& [ts, block] : gc_blocks_) {
    block->count = 0;
    block->big_count = 0;
    block->next = ts->log_free;
    ts->log_free = block;
  }
  gc_blocks_.clear();
}

// FREE records list each stream's sequence numbers ascending. The dead come out of the
// tracker ascending within each stream but with streams interleaved: group them by
// stream keeping that order (sorting a stream only if it is not ascending).
void Recorder::sort_by_id(std::vector<TrackedObject>* objects, std::vector<TrackedObject>* scratch) {
  auto by_id = [](const TrackedObject& a, const TrackedObject& b) { return a.id < b.id; };
  if (objects->empty() || std::is_sorted(objects->begin(), objects->end(), by_id)) return;
  // The dead of a stream come as a few ascending runs (old objects, young ones, new ones):
  // merged run by run in linear time; many runs are sorted instead.
  auto merge_runs = [&](std::vector<TrackedObject>::iterator first, std::vector<TrackedObject>::iterator last) {
    std::vector<TrackedObject>::iterator run_ends[8];
    int runs = 0;
    for (auto at = first; at != last && runs < 8;) {
      at = std::is_sorted_until(at, last, by_id);
      run_ends[runs++] = at;
    }
    if (runs == 8 && run_ends[7] != last) {
      std::sort(first, last, by_id);
      return;
    }
    for (int r = 1; r < runs; ++r) std::inplace_merge(first, run_ends[r - 1], run_ends[r], by_id);
  };
  uint32_t min_stream = UINT32_MAX, max_stream = 0;
  for (const auto& o : *objects) {
    min_stream = std::min(min_stream, object_stream(o.id));
    max_stream = std::max(max_stream, object_stream(o.id));
  }
  if (min_stream == max_stream) {
    // One thread's dead (a single-threaded program): no grouping, no copy.
    merge_runs(objects->begin(), objects->end());
    return;
  }
  std::vector<size_t> start(max_stream + 2, 0);
  for (const auto& o : *objects) ++start[object_stream(o.id) + 1];
  for (size_t i = 1; i < start.size(); ++i) start[i] += start[i - 1];
  scratch->resize(objects->size());
  std::vector<size_t> at(start.begin(), start.end() - 1);
  for (const auto& o : *objects) (*scratch)[at[object_stream(o.id)]++] = o;
  for (uint32_t s = 0; s <= max_stream; ++s)
    merge_runs(scratch->begin() + static_cast<long>(start[s]), scratch->begin() + static_cast<long>(start[s + 1]));
  objects->swap(*scratch);
}

void Recorder::gc_moved(const uint64_t* old_starts, const uint64_t* new_starts, const uint64_t* lengths, size_t count) {
  std::lock_guard<std::mutex> gc(gc_mutex_);
  if (gc_active_ && recording_.load(std::memory_order_relaxed)) lifetimes_.moved(old_starts, new_starts, lengths, count);
}

void Recorder::gc_survived(const uint64_t* starts, const uint64_t* lengths, size_t count) {
  std::lock_guard<std::mutex> gc(gc_mutex_);
  if (gc_active_ && recording_.load(std::memory_order_relaxed)) lifetimes_.survived(starts, lengths, count);
}

void Recorder::gc_survivor_ranges(const SurvivorRanges& ranges) {
  std::lock_guard<std::mutex> gc(gc_mutex_);
  if (gc_active_ && recording_.load(std::memory_order_relaxed)) lifetimes_.survivor_ranges(ranges);
}

void Recorder::gc_finished(const uint64_t heap_bytes[kHeapParts]) {
  std::lock_guard<std::mutex> gc(gc_mutex_);
  for (int i = 0; i < kHeapParts; ++i) heap_bytes_[i].store(heap_bytes[i], std::memory_order_relaxed);
  if (!gc_active_ || !recording_.load(std::memory_order_relaxed)) return;
  gc_active_ = false;
  dead_.clear();
  lifetimes_.end_gc(&dead_);
  recycle_gc_blocks();

  RecordBuffer r;
  uint64_t ticks = stream_ticks(now_ticks(), gc_prev_ticks_);
  r.u8(kTagGcEnd);
  r.varint(ticks - gc_prev_ticks_);
  r.varint(gc_index_);
  for (int i = 0; i < kHeapParts; ++i) r.varint(heap_bytes[i]);
  gc_prev_ticks_ = ticks;
  push_gc(r);

  sort_by_id(&dead_, &dead_sorted_);
  size_t i = 0;
  while (i < dead_.size()) {
    uint32_t stream = object_stream(dead_[i].id);
    size_t j = i;
    while (j < dead_.size() && object_stream(dead_[j].id) == stream && j - i < kMaxFreesPerRecord) ++j;
    r.clear();
    r.u8(kTagFree);
    r.varint(stream);
    r.varint(j - i);
    uint64_t prev = 0;
    for (size_t k = i; k < j; ++k) {
      uint64_t seq = object_seq(dead_[k].id);
      r.varint(k == i ? seq : seq - prev);
      prev = seq;
    }
    push_gc(r);
    i = j;
  }
  frees_.fetch_add(dead_.size(), std::memory_order_relaxed);
  freed_bytes_.fetch_add(lifetimes_.dead_bytes(), std::memory_order_relaxed);
}

void Recorder::push_gc_mark(uint8_t tag) {
  std::lock_guard<std::mutex> gc(gc_mutex_);
  if (!recording_.load(std::memory_order_relaxed)) return;
  RecordBuffer r;
  uint64_t ticks = stream_ticks(now_ticks(), gc_prev_ticks_);
  r.u8(tag);
  r.varint(ticks - gc_prev_ticks_);
  gc_prev_ticks_ = ticks;
  push_gc(r);
}

void Recorder::runtime_suspend_started() { push_gc_mark(kTagSuspend); }
void Recorder::runtime_resume_finished() { push_gc_mark(kTagResume); }

}  // namespace memnb
