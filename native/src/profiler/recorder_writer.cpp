// The recorder's writer thread: meta records, ring contents and GC records to chunks.
#include <linux/futex.h>
#include <sched.h>

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>

#include "common/clock.h"
#include "common/hot_path_timing.h"
#include "common/varint.h"
#include "native_hooks/hook_guard.h"
#include "native_hooks/native_hooks.h"
#include "stacks/module_map.h"
#include "profiler/recorder.h"
#include "profiler/recorder_internal.h"

namespace memnb {

using namespace recorder_internal;

void Recorder::emit_clock() {
  uint64_t ticks = stream_ticks(now_ticks(), meta_prev_ticks_);
  meta_.u8(kTagClock);
  meta_.varint(ticks - meta_prev_ticks_);
  meta_.varint(monotonic_ns());
  meta_.u8(kTickShift);
  meta_prev_ticks_ = ticks;
}

void Recorder::emit_snapshot() {
  uint64_t ticks = stream_ticks(now_ticks(), meta_prev_ticks_);
  uint64_t mono = monotonic_ns();
  meta_.u8(kTagSnapshot);
  meta_.varint(ticks - meta_prev_ticks_);
  meta_.varint(mono);
  meta_.varint(read_rss_bytes());
  for (int i = 0; i < kHeapParts; ++i) meta_.varint(heap_bytes_[i].load(std::memory_order_relaxed));
  meta_.varint(tracked_live_bytes());
  meta_prev_ticks_ = ticks;
  last_snapshot_ns_ = mono;
}

void Recorder::flush_meta() {
  if (meta_.size() == 0) return;
  file_.write_chunk(kMetaStream, meta_.data(), meta_.size());
  meta_.clear();
}

void Recorder::modules_changed() {
  std::vector<LoadedModule> now = loaded_modules();
  std::lock_guard<std::mutex> lock(modules_mutex_);
  pending_modules_.insert(pending_modules_.end(), now.begin(), now.end());
}

void Recorder::emit_modules() {
  std::vector<LoadedModule> modules;
  {
    std::lock_guard<std::mutex> lock(modules_mutex_);
    modules.swap(pending_modules_);
  }
  uint64_t generation = module_generation();
  if (generation != modules_generation_written_) {
    modules_generation_written_ = generation;
    std::vector<LoadedModule> now = loaded_modules();
    modules.insert(modules.end(), now.begin(), now.end());
  }
  for (const LoadedModule& m : modules) {
    auto it = modules_written_.find(m.path);
    if (it != modules_written_.end() && it->second == m.base) continue;
    modules_written_[m.path] = m.base;
    meta_.u8(kTagModule);
    meta_.varint(m.base);
    meta_.varint(m.size);
    meta_.string(m.path);
    meta_.string(m.build_id);
  }
}

// IL_FRAME after the FRAME it completes, preceded by its module's MANAGED_MODULE (and MODULE_SYMBOLS) the first time.
void Recorder::emit_il_frame(const FrameDescription& f, uint64_t ip) {
  auto it = managed_modules_written_.find(f.module_id);
  if (it == managed_modules_written_.end()) {
    ManagedModuleDescription m;
    uint64_t index = 0;
    if (symbols_->describe_module(f.module_id, &m)) {
      index = ++managed_modules_indexed_;
      meta_.u8(kTagManagedModule);
      meta_.varint(index);
      meta_.string(m.path);
      meta_.string(m.name);
      if (!m.symbols.empty() && m.symbols.size() <= kMaxModuleSymbols) {
        flush_meta();  // a PDB can be large: it goes in a chunk of its own
        meta_.u8(kTagModuleSymbols);
        meta_.varint(index);
        meta_.varint(m.symbols.size());
        meta_.raw(m.symbols.data(), m.symbols.size());
        flush_meta();
      }
    }
    it = managed_modules_written_.emplace(f.module_id, index).first;
  }
  if (it->second == 0) return;
  meta_.u8(kTagIlFrame);
  meta_.varint(ip);
  meta_.varint(it->second);
  meta_.varint(f.method_token);
  meta_.varint(f.il_offset);
}

void Recorder::emit_meta() {
  if (options_.native) emit_modules();
  // Threads first: their chunks follow in this cycle.
  for (ThreadState* ts = threads_.first(); ts; ts = ts->next_registered) {
    // Registered by a native hook before the runtime knew the thread: its managed id (and so its name)
    // comes later, in a THREAD record of the same stream that the reader takes over the first.
    if (ts->managed_id == 0) ts->managed_id = managed_threads().managed_id(ts->os_tid);
    if (!ts->described || ts->described_managed_id != ts->managed_id) {
      meta_.u8(kTagThread);
      meta_.varint(ts->stream);
      meta_.varint(ts->os_tid);
      meta_.varint(ts->managed_id);
      ts->described = true;
      ts->described_managed_id = ts->managed_id;
    }
  }
  managed_threads().forget_destroyed();
  {
    std::lock_guard<std::mutex> lock(names_mutex_);
    for (ThreadState* ts = threads_.first(); ts; ts = ts->next_registered) {
      auto it = thread_names_.find(ts->managed_id);
      if (it == thread_names_.end() || ts->managed_id == 0) continue;
      auto& written = names_written_[ts->os_tid];
      if (written == it->second) continue;
      written = it->second;
      meta_.u8(kTagThreadName);
      meta_.varint(ts->os_tid);
      meta_.string(it->second);
    }
  }
  uint32_t type_count = types_.count();
  for (; types_written_ < type_count && types_written_ < kTypes; ++types_written_) {
    uint64_t class_id;
    int spins = 0;
    while ((class_id = types_.class_id(types_written_)) == 0 && spins++ < 100000) sched_yield();
    std::string name = symbols_ && class_id ? symbols_->type_name(class_id) : std::string();
    if (name == "System.Diagnostics.Tracing.NativeRuntimeEventSource")
      runtime_event_source_seen_.store(true, std::memory_order_release);
    meta_.u8(kTagType);
    meta_.varint(types_written_);
    meta_.varint(class_id);
    meta_.string(name);
    meta_.varint(name.size() > 2 && name.compare(name.size() - 1, 1, "]") == 0 ? 1 : 0);
    if (meta_.size() > kMaxMetaChunk) flush_meta();
  }
  // STACK_NODES (docs/capture-format.md): ids implicit, the parent as a distance back, the ip
  // as its number among the ips already written (a new one spelt out, its FRAME after the
  // record). Most new nodes hang under the node before them and repeat a known ip: two bytes.
  uint32_t node_count = stacks_.count();
  uint32_t id = nodes_written_ + 1;
  while (id <= node_count) {
    uint32_t last = node_count - id < kMaxNodesPerRecord ? node_count : id + kMaxNodesPerRecord - 1;
    meta_.u8(kTagStackNodes);
    meta_.varint(last - id + 1);
    for (; id <= last; ++id) {
      // Claimed ids are published right away (intern_tables.cpp); wait for one in flight.
      const StackNode* node;
      uint64_t ip = 0;
      int spins = 0;
      while (((node = stacks_.find(id)) == nullptr || (ip = node->ip.load(std::memory_order_acquire)) == 0) && spins++ < 100000)
        sched_yield();
      uint32_t parent = ip == 0 ? 0 : node->parent;
      meta_.varint(id - 1 - parent);
      // try_emplace: emplace would allocate a map node for every stack node and free it again
      // when the ip is known (nearly always).
      auto [it, fresh] = node_ips_.try_emplace(ip, static_cast<uint32_t>(node_ips_.size()));
      meta_.varint(it->second);
      if (!fresh) continue;
      meta_.varint(ip);
      if (ip == 0) continue;
      FrameDescription f = symbols_ ? symbols_->describe_frame(ip) : FrameDescription{};
      frames_meta_.u8(kTagFrame);
      frames_meta_.varint(ip);
      frames_meta_.u8(f.kind);
      frames_meta_.string(f.function);
      frames_meta_.string(f.module);
      frames_meta_.varint(f.offset);
      if (f.has_il) il_frames_pending_.emplace_back(std::move(f), ip);
    }
    nodes_written_ = last;
    meta_.append(frames_meta_);
    frames_meta_.clear();
    // After the record: an IL frame may first write its module (and flush, for a PDB).
    for (const auto& [f, ip] : il_frames_pending_) emit_il_frame(f, ip);
    il_frames_pending_.clear();
    if (meta_.size() > kMaxMetaChunk) flush_meta();
  }
}

void Recorder::writer_cycle(bool final) {
  // Order matters (docs/capture-format.md): GC extent, thread extents, meta, threads, GC.
  {
    std::lock_guard<std::mutex> gc(gc_mutex_);
    gc_chunks_.swap(gc_pending_);
  }
  std::vector<std::pair<ThreadState*, uint64_t>> extents;
  for (ThreadState* ts = threads_.first(); ts; ts = ts->next_registered) extents.emplace_back(ts, ts->ring.published());
  stacks_.prepare_segments();
  // Lifetime log blocks the hooks are about to fill, committed here rather than faulted in there.
  for (auto& extent : extents) extent.first->log_ready.refill();
  emit_meta();
  uint64_t mono = monotonic_ns();
  if (final || mono - last_snapshot_ns_ >= static_cast<uint64_t>(options_.flush_interval_ms) * 1000000ull) emit_snapshot();
  flush_meta();
  // Oldest thread first (the registry is newest first) so stream chunks read naturally.
  for (auto it = extents.rbegin(); it != extents.rend(); ++it) {
    ThreadState* ts = it->first;
    uint64_t upto = it->second;
    uint64_t from = ts->ring.consumed();
    if (upto == from) continue;
    scratch_.resize(upto - from);
    ts->ring.copy_out(upto, scratch_.data());
    if (options_.aggregate) {
      if (!aggregator_.take_thread_records(ts->stream, scratch_.data(), scratch_.size())) dropped_.fetch_add(1);
    } else {
      file_.write_chunk(ts->stream, scratch_.data(), scratch_.size());
    }
    ts->ring.release(upto);
  }
  if (options_.aggregate) {
    // Fold this cycle's allocations and frees into the totals; keep the GC events.
    gc_kept_.clear();
    for (const RecordBuffer& chunk : gc_chunks_)
      if (!aggregator_.apply_gc_records(chunk.data(), chunk.size(), &gc_kept_)) dropped_.fetch_add(1);
    aggregator_.finish_cycle();
    file_.write_chunk(kGcStream, gc_kept_.data(), gc_kept_.size());
    if (final || mono - last_table_ns_ >= static_cast<uint64_t>(options_.aggregate_table_interval_ms) * 1000000ull) {
      uint64_t ticks = stream_ticks(now_ticks(), meta_prev_ticks_);
      aggregator_.write_table(&meta_, ticks - meta_prev_ticks_, final);
      meta_prev_ticks_ = ticks;
      last_table_ns_ = mono;
      flush_meta();
    }
  } else {
    for (const RecordBuffer& chunk : gc_chunks_) file_.write_chunk(kGcStream, chunk.data(), chunk.size());
  }
  gc_chunks_.clear();
}

void Recorder::writer_main() {
  HookGuard guard;  // for the whole thread: its allocations are the tracer's
  last_snapshot_ns_ = 0;
  while (!stop_requested_.load(std::memory_order_acquire)) {
    uint32_t seen = wake_word_.load(std::memory_order_acquire);
    timespec timeout{0, static_cast<long>(options_.flush_interval_ms) * 1000000L};
    futex(&wake_word_, FUTEX_WAIT_PRIVATE, seen, &timeout);
    writer_cycle(false);
    if (crash_flush_requested_.load(std::memory_order_acquire)) {
      // The process is going down: one more cycle for what was committed meanwhile.
      writer_cycle(true);
      crash_flush_done_.store(1, std::memory_order_release);
      futex(&crash_flush_done_, FUTEX_WAKE_PRIVATE, 1, nullptr);
      return;
    }
  }
  // Hooks are quiesced: drain what is left, then close the capture.
  writer_cycle(true);
  timespec cpu{};
  if (g_timing_on && clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0)
    HotPathTiming::get().add_writer_cpu_ns(static_cast<uint64_t>(cpu.tv_sec) * 1000000000ull + static_cast<uint64_t>(cpu.tv_nsec));
  emit_clock();
  uint64_t ticks = stream_ticks(now_ticks(), meta_prev_ticks_);
  meta_.u8(kTagEnd);
  meta_.varint(ticks - meta_prev_ticks_);
  meta_prev_ticks_ = ticks;
  meta_.varint(allocations());
  meta_.varint(frees_.load());
  meta_.varint(lifetimes_.live_bytes() + [this] {
    // Objects logged since the last GC are not in the tracker yet.
    uint64_t pending = 0;
    for (ThreadState* ts = threads_.first(); ts; ts = ts->next_registered)
      for (LifetimeBlock* b = ts->log_head; b; b = b->next)
        for (size_t i = 0; i < b->count; ++i)
          pending += b->objects[i].is_big() ? b->big[b->objects[i].address()].size : b->objects[i].size();
    return pending;
  }());
  meta_.varint(dropped_.load() + (stacks_.overflowed() ? 1 : 0));
  flush_meta();
}

}  // namespace memnb
