// Turns GC survivor reports into object deaths. Every tracked object in a condemned
// generation that no MovedReferences2/SurvivingReferences2 range covers died in that GC;
// survivors of a compacting GC follow their range to the new address. Runs only on the
// thread that runs GC callbacks, while managed threads are suspended.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include <emmintrin.h>

#include "lifetime/survivor_events.h"

namespace memnb {

// A tracked object in 16 bytes: its address and size in one word (the address in the low 47
// bits, the size in the high 17), its id in the other. A GC settles millions of them (a deep
// recording tracks ~8M at once), so their size is the GC side's memory traffic: 16 bytes instead
// of 24 is a third less to read, write back and fault in. An object that does not fit (a size of
// kBig bytes or more, an address from 2^47 on) is big: its size bits are all ones and its address
// bits the number of an entry that holds both (BigObject in a thread's log, the tracker's side
// table once handed over). Big objects are rare: at least 128 KiB each.
struct alignas(16) TrackedObject {
  uint64_t place;
  uint64_t id;  // (thread stream << 40) | sequence number

  static constexpr int kAddressBits = 47;
  static constexpr uint64_t kAddressMask = (uint64_t{1} << kAddressBits) - 1;
  static constexpr uint64_t kBig = (uint64_t{1} << (64 - kAddressBits)) - 1;  // a big object's size bits
  static constexpr bool fits(uint64_t address, uint64_t size) { return address <= kAddressMask && size < kBig; }
  // Only where fits(address, size).
  static constexpr TrackedObject packed(uint64_t address, uint64_t id, uint64_t size) {
    return {address | size << kAddressBits, id};
  }
  static constexpr TrackedObject big(uint64_t entry, uint64_t id) { return {entry | kBig << kAddressBits, id}; }
  bool is_big() const { return (place >> kAddressBits) == kBig; }
  uint64_t address() const { return place & kAddressMask; }  // a big object's: its entry
  uint64_t size() const { return place >> kAddressBits; }     // a big object's: kBig
};
static_assert(sizeof(TrackedObject) == 16);

// A big object's address and size, and (in a log) the index of its TrackedObject there.
struct BigObject {
  uint64_t address;
  uint64_t size;
  uint64_t slot;
};

// Appends an object to a log: objects[*count], and for a big one its entry big[*big_count].
// The caller makes sure objects has room; false (nothing appended) when a big object finds no
// room for its entry (big_capacity).
inline bool append_logged(TrackedObject* objects, size_t* count, BigObject* big, size_t* big_count, size_t big_capacity,
                          uint64_t address, uint64_t id, uint64_t size) {
  if (__builtin_expect(TrackedObject::fits(address, size), 1)) {
    objects[(*count)++] = TrackedObject::packed(address, id, size);
    return true;
  }
  if (*big_count == big_capacity) return false;
  big[*big_count] = BigObject{address, size, *count};
  objects[(*count)++] = TrackedObject::big(*big_count, id);
  ++*big_count;
  return true;
}

constexpr int kStreamShift = 40;
inline uint64_t make_object_id(uint32_t stream, uint64_t seq) { return (static_cast<uint64_t>(stream) << kStreamShift) | seq; }
inline uint32_t object_stream(uint64_t id) { return static_cast<uint32_t>(id >> kStreamShift); }
inline uint64_t object_seq(uint64_t id) { return id & ((1ull << kStreamShift) - 1); }

struct GenerationRange {
  uint64_t start;
  uint64_t end;  // start + reserved length: an object anywhere in the range belongs to it
  int generation;  // 0, 1, 2, 3 = LOH, 4 = POH
};

// A list of tracked objects in fixed blocks, so that growing it never moves what it holds
// (a vector doubling copied every object and touched twice their memory: 5% of a deep
// recording's time went to that copy and its page faults). Blocks are kept when the list
// shrinks and refilled in place. Transparent huge pages for the blocks were measured and
// dropped (docs/architecture.md, "The GC side").
// Blocks no list holds, shared by the lists of one tracker: the blocks the young list no longer
// needs after a GC take the objects it promoted to the old list at the next one, so a growing
// old list reuses pages already faulted in instead of new ones.
struct BlockPool {
  std::vector<TrackedObject*> free;
  ~BlockPool() { release(); }
  void release();
};

class BlockList {
 public:
  static constexpr size_t kBlockBytes = size_t{2} << 20;
  static constexpr size_t kBlock = kBlockBytes / sizeof(TrackedObject);
  BlockList() = default;
  // Surplus blocks go to `pool` when the list shrinks, and new ones come from it first.
  explicit BlockList(BlockPool* pool) : pool_(pool) {}
  BlockList(const BlockList&) = delete;
  BlockList& operator=(const BlockList&) = delete;
  ~BlockList() { release(); }

  size_t size() const { return size_; }
  TrackedObject& operator[](size_t i) { return blocks_[i / kBlock][i % kBlock]; }
  // A non-temporal store: the slot is not read again before the next GC (by then long out of
  // the cache), so its line is not read in first. Call fence() before another thread reads.
  void push_back(const TrackedObject& o) {
    if (fill_ == kBlock || !cursor_) next_block();
    _mm_stream_si128(reinterpret_cast<__m128i*>(&cursor_[fill_++]), _mm_set_epi64x(static_cast<long long>(o.id), static_cast<long long>(o.place)));
    ++size_;
  }
  static void fence() { _mm_sfence(); }
  // Keeps the first n (n <= size()); the blocks stay allocated for reuse (by this list, or
  // through the pool by another).
  void truncate(size_t n);
  size_t capacity() const { return blocks_.size() * kBlock; }
  void release();

 private:
  void next_block();
  BlockPool* pool_ = nullptr;
  std::vector<TrackedObject*> blocks_;
  size_t size_ = 0;
  // The block the next object goes to and how many it holds (kBlock when full).
  TrackedObject* cursor_ = nullptr;
  size_t fill_ = 0;
};

class LifetimeTracker {
 public:
  // condemned: bit n set when generation n (3 = LOH, 4 = POH) is collected.
  void begin_gc(uint32_t condemned, std::vector<GenerationRange> ranges);
  // Objects allocated since the last GC, as a log holds them (append_logged). The span must
  // stay valid until end_gc(): it is read in place, so the many objects that die young are
  // never copied. Its big objects are moved to the tracker's side table (their TrackedObject
  // rewritten to name the tracker's entry).
  void add(TrackedObject* objects, size_t count, const BigObject* big = nullptr, size_t big_count = 0);
  void moved(const uint64_t* old_starts, const uint64_t* new_starts, const uint64_t* lengths, size_t count);
  void survived(const uint64_t* starts, const uint64_t* lengths, size_t count);
  // The same from a survivor event's packed values (lifetime/survivor_events.h).
  void survivor_ranges(const SurvivorRanges& ranges);
  // Settles the GC: appends the dead objects to `dead` and forgets them. `dead` is given room
  // for every object that can die first, so it never grows (and copies itself) while filled.
  void end_gc(std::vector<TrackedObject>* dead);
  void clear();
  // The address and size of an object the tracker holds, or of one the last end_gc reported
  // dead (until the next end_gc).
  uint64_t address_of(const TrackedObject& o) const { return o.is_big() ? big_[o.address()].address : o.address(); }
  uint64_t size_of(const TrackedObject& o) const { return o.is_big() ? big_[o.address()].size : o.size(); }
  // The bytes of the objects the last end_gc reported dead.
  uint64_t dead_bytes() const { return dead_bytes_; }
  // Side-table entries in use (big objects tracked or just reported dead).
  size_t big_entries() const { return big_.size() - big_free_.size(); }

  size_t live_count() const {
    size_t n = young_.size() + old_.size();
    for (auto& span : pending_) n += span.second;
    return n;
  }
  uint64_t live_bytes() const { return live_bytes_; }
  bool in_gc() const { return in_gc_; }

 private:
  struct Survivor {
    uint64_t old_start;
    uint64_t new_start;
    uint64_t length;
  };
  const GenerationRange* find_range(uint64_t address) const;
  const Survivor* find_survivor(uint64_t address) const;
  // Returns true if the object stays tracked (possibly moved); false if it died.
  bool settle(TrackedObject& object, bool* now_old);
  void note_dead(const TrackedObject& object);
  void settle_into(const TrackedObject& object, BlockList* young, std::vector<TrackedObject>* dead);
  template <bool Promote>
  void settle_list(BlockList* list, std::vector<TrackedObject>* dead);

  BlockPool pool_;  // declared before the lists: they give their blocks back to it
  BlockList young_{&pool_};  // gen0/gen1 (or unknown) when last seen
  BlockList old_{&pool_};    // gen2, LOH, POH, or outside every range (frozen)
  std::vector<std::pair<const TrackedObject*, size_t>> pending_;
  std::vector<GenerationRange> ranges_;
  // Objects come in address order within each allocation context: the last hit is the
  // likely next hit.
  mutable size_t range_hint_ = 0;
  mutable size_t survivor_hint_ = 0;
  std::vector<Survivor> survivors_;
  // Big objects (TrackedObject::big): entries by number, the numbers free for reuse, and those of
  // the objects the last end_gc reported dead (freed at the next, after the caller read them).
  struct BigEntry {
    uint64_t address;
    uint64_t size;
  };
  uint64_t new_big(uint64_t address, uint64_t size);
  std::vector<BigEntry> big_;
  std::vector<uint64_t> big_free_;
  std::vector<uint64_t> big_dead_;
  uint64_t dead_bytes_ = 0;
  uint32_t condemned_ = 0;
  bool in_gc_ = false;
  uint64_t live_bytes_ = 0;
};

}  // namespace memnb
