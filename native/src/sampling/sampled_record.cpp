// SAMPLED_ALLOC records (docs/capture-format.md): the hot path of sampled recording, on
// the allocating thread, into the thread's own ring like ALLOC. No lifetime log: a sampled
// capture has no FREE records.
#include <sched.h>

#include "common/clock.h"
#include "common/varint.h"
#include "profiler/recorder.h"

namespace memnb {

void Recorder::record_sampled_allocation(ThreadState* ts, uint64_t address, int64_t type, uint64_t size,
                                         uint64_t sampled_byte_offset, uint8_t kind, const uintptr_t* ips, int depth) {
  if (type < 0) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  uint32_t stack = intern_stack(ts, ips, depth);

  uint8_t record[1 + 6 * kMaxVarintBytes + 1];
  uint8_t* p = record;
  *p++ = kTagSampledAlloc;
  uint64_t ticks = now_ticks();
  p = put_varint(p, ticks - ts->prev_ticks);
  p = put_varint(p, static_cast<uint64_t>(type));
  p = put_varint(p, size);
  p = put_svarint(p, static_cast<int64_t>(stack) - static_cast<int64_t>(ts->prev_stack));
  p = put_svarint(p, static_cast<int64_t>(address - ts->prev_end_address));
  p = put_varint(p, sampled_byte_offset);
  *p++ = kind;
  size_t len = static_cast<size_t>(p - record);

  SpscRing& ring = ts->ring;
  size_t half = ring.capacity() / 2;
  size_t used = ring.used();
  while (ring.capacity() - used < len) {
    wake_writer();
    sched_yield();
    used = ring.used();
  }
  ring.push(record, len);
  if (used <= half && used + len > half) wake_writer();

  ts->prev_ticks = ticks;
  ts->prev_stack = stack;
  ts->prev_end_address = address + size;
  ts->next_seq++;
  ts->allocated_bytes.store(ts->allocated_bytes.load(std::memory_order_relaxed) + size, std::memory_order_relaxed);
  ts->allocations.store(ts->allocations.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

}  // namespace memnb
