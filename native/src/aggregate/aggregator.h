// Aggregated recording (`memnb run --aggregate`): the writer thread folds the records
// of the thread rings and the GC stream into totals per (stack, type) -- allocated,
// alive at the high-water mark, alive at the end -- instead of writing every record.
// Memory grows with the distinct (stack, type) pairs and the objects alive, not with
// the number of allocations.
#pragma once
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "writer/record_buffer.h"

namespace memnb {

class Aggregator {
 public:
  // Decodes one thread stream's ALLOC records (their bytes as the thread wrote them)
  // into this cycle's pending allocations.
  bool take_thread_records(uint32_t stream, const uint8_t* data, size_t len);
  // Applies this cycle: GC records (their bytes) in order, with the pending allocations
  // made before each GC started; appends the GC records to keep (all but FREE) to out.
  bool apply_gc_records(const uint8_t* data, size_t len, RecordBuffer* out);
  // After the last GC records of a cycle: applies the remaining pending allocations.
  void finish_cycle();

  // AGG_TABLE record (docs/capture-format.md).
  void write_table(RecordBuffer* out, uint64_t dt, bool final);

  uint64_t live_bytes() const { return live_bytes_; }
  uint64_t peak_bytes() const { return peak_bytes_; }
  size_t key_count() const { return totals_.size(); }
  void clear();

 private:
  struct Totals {
    uint32_t stack, type;
    uint64_t count, bytes;
    uint64_t live_count, live_bytes;
    uint64_t peak_count, peak_bytes;
  };
  struct Pending {
    uint64_t ticks;
    uint32_t stream;
    uint32_t key;
    uint64_t seq;
    uint64_t size;
  };
  struct Entry {
    uint32_t key;  // index + 1; 0 = freed
    uint64_t size;
  };
  static constexpr size_t kPageBits = 16;
  struct Page {
    Entry entries[size_t{1} << kPageBits];
    size_t live = 0;
  };
  struct StreamState {
    uint64_t ticks = 0;
    uint32_t stack = 0;
    uint64_t next_seq = 0;
    uint64_t first_page = 0;                   // pages before it are released
    std::vector<std::unique_ptr<Page>> pages;  // from first_page on
  };

  uint32_t key_of(uint32_t stack, uint32_t type);
  void apply_allocation(const Pending& p);
  bool apply_free(uint32_t stream, uint64_t seq);
  void apply_pending_before(uint64_t ticks);
  void note_peak();

  std::unordered_map<uint64_t, uint32_t> keys_;
  std::vector<Totals> totals_;
  std::unordered_map<uint32_t, StreamState> streams_;
  std::vector<Pending> pending_;
  size_t pending_at_ = 0;
  bool pending_sorted_ = true;
  uint64_t gc_ticks_ = 0;
  uint64_t live_bytes_ = 0;
  uint64_t peak_bytes_ = 0;
};

}  // namespace memnb
