#include "profiler/recorder.h"

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
#include <chrono>

#include "common/clock.h"
#include "common/varint.h"

namespace memnb {

namespace {

__thread ThreadState* t_state __attribute__((tls_model("initial-exec"))) = nullptr;
__thread uint32_t t_session __attribute__((tls_model("initial-exec"))) = 0;

constexpr size_t kStackSlots = 1u << 24;
constexpr size_t kStackNodes = 1u << 23;
constexpr size_t kTypeSlots = 1u << 18;
constexpr size_t kTypes = 1u << 17;
constexpr size_t kMaxFreesPerRecord = 8192;
constexpr size_t kMaxMetaChunk = 1u << 20;
constexpr size_t kGcChunkBytes = 4u << 20;

long futex(std::atomic<uint32_t>* word, int op, uint32_t value, const timespec* timeout) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op, value, timeout, nullptr, 0);
}

bool g_membarrier_registered = false;

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

}  // namespace

Recorder& recorder() {
  static Recorder instance;
  return instance;
}

bool Recorder::start(const char* path, const RecorderOptions& options, SymbolSource* symbols, std::string* error) {
  std::lock_guard<std::mutex> control(control_mutex_);
  if (recording_.load()) {
    *error = "already recording";
    return false;
  }
  options_ = options;
  symbols_ = symbols;
  if (!stacks_.init(kStackSlots, kStackNodes) || !types_.init(kTypeSlots, kTypes)) {
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
  if (!file_.open(path, static_cast<uint32_t>(getpid()), realtime_ns(), options.aggregate ? kFlagAggregated : 0, error)) {
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
  frames_written_.clear();
  names_written_.clear();
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
  std::lock_guard<std::mutex> control(control_mutex_);
  if (!recording_.load()) {
    *error = "not recording";
    return false;
  }
  {
    std::lock_guard<std::mutex> gc(gc_mutex_);
    recording_.store(false, std::memory_order_seq_cst);
  }
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
  ThreadState* ts = threads_.create(options_.thread_ring_bytes, managed_id ? managed_id() : 0);
  t_state = ts;
  t_session = session;
  return ts;
}

uint32_t Recorder::intern_stack(ThreadState* ts, const uintptr_t* ips, int depth) {
  if (depth <= 0) return 0;
  // Reuse the outer frames shared with the previous stack of this thread.
  int shared = 0;
  int last = ts->last_depth;
  while (shared < depth && shared < last && ips[depth - 1 - shared] == ts->last_ips[last - 1 - shared]) ++shared;
  uint32_t parent = 0;
  if (shared > 0) parent = ts->last_nodes[last - shared];
  if (shared == depth && last == depth) return parent;
  // ts->last_* are rewritten for the new stack, outermost first.
  for (int i = 0; i < shared; ++i) {
    ts->last_ips[depth - 1 - i] = ips[depth - 1 - i];
    ts->last_nodes[depth - 1 - i] = ts->last_nodes[last - 1 - i];
  }
  for (int i = depth - 1 - shared; i >= 0; --i) {
    uint32_t node = stacks_.intern(parent, ips[i]);
    if (node == 0) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      ts->last_depth = 0;
      return parent;
    }
    parent = node;
    ts->last_ips[i] = ips[i];
    ts->last_nodes[i] = node;
  }
  ts->last_depth = depth;
  return parent;
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
                                       int depth) {
  if (type < 0) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  uint32_t stack = intern_stack(ts, ips, depth);

  uint8_t record[1 + 5 * kMaxVarintBytes];
  uint8_t* p = record;
  *p++ = kTagAlloc;
  uint64_t ticks = now_ticks();
  p = put_varint(p, ticks - ts->prev_ticks);
  p = put_varint(p, static_cast<uint64_t>(type));
  p = put_varint(p, size);
  p = put_svarint(p, static_cast<int64_t>(stack) - static_cast<int64_t>(ts->prev_stack));
  p = put_svarint(p, static_cast<int64_t>(address - ts->prev_end_address));
  size_t len = static_cast<size_t>(p - record);

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

  ts->prev_ticks = ticks;
  ts->prev_stack = stack;
  ts->prev_end_address = address + size;
  uint64_t seq = ts->next_seq++;
  log_object(ts, address, make_object_id(ts->stream, seq), size);
  ts->allocated_bytes.store(ts->allocated_bytes.load(std::memory_order_relaxed) + size, std::memory_order_relaxed);
  ts->allocations.store(ts->allocations.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// ---------------------------------------------------------------- GC callbacks

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
  for (auto& [ts, block] : gc_blocks_) lifetimes_.add(block->objects, block->count);
  lifetimes_.begin_gc(condemned, std::move(ranges));
  ++gc_index_;
  RecordBuffer r;
  uint64_t ticks = now_ticks();
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
  uint32_t max_stream = 0;
  for (const auto& o : *objects) max_stream = std::max(max_stream, object_stream(o.id));
  std::vector<size_t> start(max_stream + 2, 0);
  for (const auto& o : *objects) ++start[object_stream(o.id) + 1];
  for (size_t i = 1; i < start.size(); ++i) start[i] += start[i - 1];
  scratch->resize(objects->size());
  std::vector<size_t> at(start.begin(), start.end() - 1);
  for (const auto& o : *objects) (*scratch)[at[object_stream(o.id)]++] = o;
  for (uint32_t s = 0; s <= max_stream; ++s) {
    auto first = scratch->begin() + static_cast<long>(start[s]);
    auto last = scratch->begin() + static_cast<long>(start[s + 1]);
    if (!std::is_sorted(first, last, by_id)) std::sort(first, last, by_id);
  }
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

void Recorder::gc_finished(const uint64_t heap_bytes[kHeapParts]) {
  std::lock_guard<std::mutex> gc(gc_mutex_);
  for (int i = 0; i < kHeapParts; ++i) heap_bytes_[i].store(heap_bytes[i], std::memory_order_relaxed);
  if (!gc_active_ || !recording_.load(std::memory_order_relaxed)) return;
  gc_active_ = false;
  dead_.clear();
  lifetimes_.end_gc(&dead_);
  recycle_gc_blocks();

  RecordBuffer r;
  uint64_t ticks = now_ticks();
  r.u8(kTagGcEnd);
  r.varint(ticks - gc_prev_ticks_);
  r.varint(gc_index_);
  for (int i = 0; i < kHeapParts; ++i) r.varint(heap_bytes[i]);
  gc_prev_ticks_ = ticks;
  push_gc(r);

  sort_by_id(&dead_, &dead_sorted_);
  uint64_t freed = 0;
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
      freed += dead_[k].size;
    }
    push_gc(r);
    i = j;
  }
  frees_.fetch_add(dead_.size(), std::memory_order_relaxed);
  freed_bytes_.fetch_add(freed, std::memory_order_relaxed);
}

void Recorder::push_gc_mark(uint8_t tag) {
  std::lock_guard<std::mutex> gc(gc_mutex_);
  if (!recording_.load(std::memory_order_relaxed)) return;
  RecordBuffer r;
  uint64_t ticks = now_ticks();
  r.u8(tag);
  r.varint(ticks - gc_prev_ticks_);
  gc_prev_ticks_ = ticks;
  push_gc(r);
}

void Recorder::runtime_suspend_started() { push_gc_mark(kTagSuspend); }
void Recorder::runtime_resume_finished() { push_gc_mark(kTagResume); }

void Recorder::thread_named(uint64_t managed_id, const std::string& name) {
  std::lock_guard<std::mutex> lock(names_mutex_);
  thread_names_[managed_id] = name;
}

// ---------------------------------------------------------------- writer thread

void Recorder::emit_clock() {
  uint64_t ticks = now_ticks();
  meta_.u8(kTagClock);
  meta_.varint(ticks - meta_prev_ticks_);
  meta_.varint(monotonic_ns());
  meta_.u8(kTickShift);
  meta_prev_ticks_ = ticks;
}

void Recorder::emit_snapshot() {
  uint64_t ticks = now_ticks();
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

void Recorder::emit_meta() {
  // Threads first: their chunks follow in this cycle.
  for (ThreadState* ts = threads_.first(); ts; ts = ts->next_registered) {
    if (!ts->described) {
      meta_.u8(kTagThread);
      meta_.varint(ts->stream);
      meta_.varint(ts->os_tid);
      meta_.varint(ts->managed_id);
      ts->described = true;
    }
  }
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
    meta_.u8(kTagType);
    meta_.varint(types_written_);
    meta_.varint(class_id);
    meta_.string(name);
    meta_.varint(name.size() > 2 && name.compare(name.size() - 1, 1, "]") == 0 ? 1 : 0);
    if (meta_.size() > kMaxMetaChunk) flush_meta();
  }
  uint32_t node_count = std::min<uint32_t>(stacks_.count(), kStackNodes - 1);
  for (uint32_t id = nodes_written_ + 1; id <= node_count; ++id) {
    const StackNode& node = stacks_.node(id);
    uint64_t ip;
    int spins = 0;
    while ((ip = node.ip.load(std::memory_order_acquire)) == 0 && spins++ < 100000) sched_yield();
    meta_.u8(kTagStackNode);
    meta_.varint(id);
    meta_.varint(ip == 0 ? 0 : node.parent);
    meta_.varint(ip);
    if (ip != 0 && frames_written_.emplace(ip, true).second) {
      FrameDescription f = symbols_ ? symbols_->describe_frame(ip) : FrameDescription{};
      meta_.u8(kTagFrame);
      meta_.varint(ip);
      meta_.u8(f.kind);
      meta_.string(f.function);
      meta_.string(f.module);
      meta_.varint(f.offset);
    }
    nodes_written_ = id;
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
      uint64_t ticks = now_ticks();
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
  emit_clock();
  uint64_t ticks = now_ticks();
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
        for (size_t i = 0; i < b->count; ++i) pending += b->objects[i].size;
    return pending;
  }());
  meta_.varint(dropped_.load() + (stacks_.overflowed() ? 1 : 0));
  flush_meta();
}

}  // namespace memnb
