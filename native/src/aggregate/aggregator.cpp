#include "aggregate/aggregator.h"

#include <algorithm>

#include "common/varint.h"
#include "writer/capture_writer.h"

namespace memnb {

namespace {

// Reads records written by this process's own encoders: a malformed one means a bug,
// reported by returning false (the writer then records the loss).
struct Cursor {
  const uint8_t* p;
  const uint8_t* end;
  bool ok = true;
  uint64_t v() {
    uint64_t x = 0;
    const uint8_t* q = ok ? get_varint(p, end, &x) : nullptr;
    if (!q) {
      ok = false;
      return 0;
    }
    p = q;
    return x;
  }
  int64_t sv() { return unzigzag(v()); }
  uint8_t u8() {
    if (!ok || p >= end) {
      ok = false;
      return 0;
    }
    return *p++;
  }
};

}  // namespace

uint32_t Aggregator::key_of(uint32_t stack, uint32_t type) {
  uint64_t k = (static_cast<uint64_t>(stack) << 32) | type;
  auto [it, inserted] = keys_.emplace(k, static_cast<uint32_t>(totals_.size()));
  if (inserted) totals_.push_back(Totals{stack, type, 0, 0, 0, 0, 0, 0});
  return it->second;
}

bool Aggregator::take_thread_records(uint32_t stream, const uint8_t* data, size_t len) {
  StreamState& s = streams_[stream];
  Cursor c{data, data + len};
  while (c.ok && c.p < c.end) {
    if (c.u8() != kTagAlloc) return false;
    s.ticks += c.v();
    uint32_t type = static_cast<uint32_t>(c.v());
    uint64_t size = c.v();
    s.stack = static_cast<uint32_t>(static_cast<int64_t>(s.stack) + c.sv());
    c.sv();  // address: not kept in aggregated captures
    if (!c.ok) return false;
    pending_.push_back(Pending{s.ticks, stream, key_of(s.stack, type), s.next_seq++, size});
    pending_sorted_ = false;
  }
  return c.ok;
}

void Aggregator::apply_allocation(const Pending& p) {
  StreamState& s = streams_[p.stream];
  uint64_t page = p.seq >> kPageBits;
  while (s.first_page + s.pages.size() <= page) s.pages.push_back(std::make_unique<Page>());
  Page& pg = *s.pages[page - s.first_page];
  pg.entries[p.seq & ((size_t{1} << kPageBits) - 1)] = Entry{p.key + 1, p.size};
  ++pg.live;
  Totals& t = totals_[p.key];
  ++t.count;
  t.bytes += p.size;
  ++t.live_count;
  t.live_bytes += p.size;
  live_bytes_ += p.size;
}

bool Aggregator::apply_free(uint32_t stream, uint64_t seq) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return false;
  StreamState& s = it->second;
  uint64_t page = seq >> kPageBits;
  if (page < s.first_page || page >= s.first_page + s.pages.size()) return false;
  Page& pg = *s.pages[page - s.first_page];
  Entry& e = pg.entries[seq & ((size_t{1} << kPageBits) - 1)];
  if (e.key == 0) return false;
  Totals& t = totals_[e.key - 1];
  --t.live_count;
  t.live_bytes -= e.size;
  live_bytes_ -= e.size;
  e.key = 0;
  --pg.live;
  // Release leading pages whose objects all died (never the page being filled).
  while (s.pages.size() > 1 && s.pages.front()->live == 0 && ((s.first_page + 1) << kPageBits) <= s.next_seq) {
    s.pages.erase(s.pages.begin());
    ++s.first_page;
  }
  return true;
}

void Aggregator::apply_pending_before(uint64_t ticks) {
  if (!pending_sorted_) {
    // Each stream is in time order already; this merges the streams.
    std::stable_sort(pending_.begin(), pending_.end(), [](const Pending& a, const Pending& b) { return a.ticks < b.ticks; });
    pending_sorted_ = true;
  }
  while (pending_at_ < pending_.size() && pending_[pending_at_].ticks < ticks) apply_allocation(pending_[pending_at_++]);
}

void Aggregator::note_peak() {
  if (live_bytes_ <= peak_bytes_ && peak_bytes_ != 0) return;
  peak_bytes_ = live_bytes_;
  for (Totals& t : totals_) {
    t.peak_count = t.live_count;
    t.peak_bytes = t.live_bytes;
  }
}

bool Aggregator::apply_gc_records(const uint8_t* data, size_t len, RecordBuffer* out) {
  Cursor c{data, data + len};
  while (c.ok && c.p < c.end) {
    const uint8_t* start = c.p;
    uint8_t tag = c.u8();
    switch (tag) {
      case kTagGcStart: {
        gc_ticks_ += c.v();
        c.u8();
        c.u8();
        c.v();
        c.v();
        // Frees happen only in GCs: the live bytes peak right before one starts.
        apply_pending_before(gc_ticks_);
        note_peak();
        break;
      }
      case kTagGcEnd:
        gc_ticks_ += c.v();
        for (int i = 0; i < 6; ++i) c.v();
        break;
      case kTagSuspend:
      case kTagResume:
        gc_ticks_ += c.v();
        break;
      case kTagFree: {
        uint32_t stream = static_cast<uint32_t>(c.v());
        uint64_t count = c.v(), seq = 0;
        for (uint64_t i = 0; i < count && c.ok; ++i) {
          uint64_t x = c.v();
          seq = i == 0 ? x : seq + x;
          if (!apply_free(stream, seq)) return false;
        }
        continue;  // not kept
      }
      default:
        return false;
    }
    if (!c.ok) return false;
    out->raw(start, static_cast<size_t>(c.p - start));
  }
  return c.ok;
}

void Aggregator::finish_cycle() {
  apply_pending_before(UINT64_MAX);
  pending_.clear();
  pending_at_ = 0;
  pending_sorted_ = true;
}

void Aggregator::write_table(RecordBuffer* out, uint64_t dt, bool final) {
  if (final) note_peak();
  out->u8(kTagAggTable);
  out->varint(dt);
  out->u8(final ? 1 : 0);
  out->varint(peak_bytes_);
  out->varint(totals_.size());
  for (const Totals& t : totals_) {
    out->varint(t.stack);
    out->varint(t.type);
    out->varint(t.count);
    out->varint(t.bytes);
    out->varint(t.peak_count);
    out->varint(t.peak_bytes);
    out->varint(t.live_count);
    out->varint(t.live_bytes);
  }
}

void Aggregator::clear() {
  keys_.clear();
  totals_.clear();
  streams_.clear();
  pending_.clear();
  pending_at_ = 0;
  gc_ticks_ = 0;
  live_bytes_ = 0;
  peak_bytes_ = 0;
}

}  // namespace memnb
