// SAMPLED_ALLOC records (docs/capture-format.md): the hot path of sampled recording, on
// the allocating thread, into the thread's own ring like ALLOC. No lifetime log: a sampled
// capture has no FREE records.
#include "common/clock.h"
#include "common/varint.h"
#include "profiler/recorder.h"
#include "writer/capture_writer.h"

namespace memnb {

void Recorder::record_sampled_allocation(ThreadState* ts, uint64_t address, int64_t type, uint64_t size,
                                         uint64_t sampled_byte_offset, uint8_t kind, const uintptr_t* ips, int depth) {
  if (type < 0) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  uint32_t stack = intern_walked_stack(ts, ips, depth);

  uint64_t ticks = now_ticks();
  push_encoded<1 + 6 * kMaxVarintBytes + 1>(ts, [&](uint8_t* p) {
    p = put_alloc_fields(p, kTagSampledAlloc, ts, ticks, type, size, stack, address);
    p = put_varint(p, sampled_byte_offset);
    *p++ = kind;
    return p;
  });
  note_allocation(ts, ticks, stack, address, size);
}

void Recorder::record_exact_large_allocation(ThreadState* ts, uint64_t address, int64_t type, uint64_t size,
                                             const uintptr_t* ips, int depth) {
  record_sampled_allocation(ts, address, type, size, 0, kHeapKindLarge | kSampledExact, ips, depth);
}

}  // namespace memnb
