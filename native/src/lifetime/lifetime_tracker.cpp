#include "lifetime/lifetime_tracker.h"

#include <algorithm>
#include <cstring>

namespace memnb {

void BlockPool::release() {
  for (TrackedObject* block : free) delete[] block;
  free.clear();
  free.shrink_to_fit();
}

void BlockList::next_block() {
  size_t index = size_ / kBlock;  // size_ is a multiple of kBlock here
  if (index == blocks_.size()) {
    if (pool_ && !pool_->free.empty()) {
      blocks_.push_back(pool_->free.back());
      pool_->free.pop_back();
    } else {
      blocks_.push_back(new TrackedObject[kBlock]);
    }
  }
  cursor_ = blocks_[index];
  fill_ = 0;
}

void BlockList::truncate(size_t n) {
  // The blocks past n stay allocated for the next objects: freeing them returned their
  // pages to the system, and the next GC that promoted objects faulted fresh zeroed pages
  // in again (perf, deep: 9% of the allocating thread in the kernel's page clearing under
  // settle_into). What is kept is at most the most objects tracked at once.
  size_ = n;
  if (pool_) {
    // Blocks past the one holding object n - 1 go to the pool (the last to go is the first
    // taken back, so a list that grows again gets its own blocks back first).
    size_t needed = (n + kBlock - 1) / kBlock;
    while (blocks_.size() > needed) {
      pool_->free.push_back(blocks_.back());
      blocks_.pop_back();
    }
  }
  if (n == 0) {
    cursor_ = nullptr;
    fill_ = 0;
    return;
  }
  // The next push goes after object n - 1: into its block, or into the next when full.
  cursor_ = blocks_[(n - 1) / kBlock];
  fill_ = (n - 1) % kBlock + 1;
}

void BlockList::release() {
  for (TrackedObject* block : blocks_) delete[] block;
  blocks_.clear();
  blocks_.shrink_to_fit();
  size_ = 0;
  cursor_ = nullptr;
  fill_ = 0;
}

void LifetimeTracker::begin_gc(uint32_t condemned, std::vector<GenerationRange> ranges) {
  ranges_ = std::move(ranges);
  std::sort(ranges_.begin(), ranges_.end(), [](const GenerationRange& a, const GenerationRange& b) { return a.start < b.start; });
  survivors_.clear();
  range_hint_ = 0;
  survivor_hint_ = 0;
  condemned_ = condemned;
  in_gc_ = true;
}

void LifetimeTracker::add(TrackedObject* objects, size_t count, const BigObject* big, size_t big_count) {
  if (count == 0) return;
  pending_.emplace_back(objects, count);
  uint64_t bytes = 0;
  for (size_t i = 0; i < count; ++i) bytes += objects[i].size();  // a big one counts kBig here, corrected below
  for (size_t j = 0; j < big_count; ++j) {
    TrackedObject& o = objects[big[j].slot];
    bytes += big[j].size - TrackedObject::kBig;
    o = TrackedObject::big(new_big(big[j].address, big[j].size), o.id);
  }
  live_bytes_ += bytes;
}

uint64_t LifetimeTracker::new_big(uint64_t address, uint64_t size) {
  if (!big_free_.empty()) {
    uint64_t entry = big_free_.back();
    big_free_.pop_back();
    big_[entry] = BigEntry{address, size};
    return entry;
  }
  big_.push_back(BigEntry{address, size});
  return big_.size() - 1;
}

void LifetimeTracker::moved(const uint64_t* old_starts, const uint64_t* new_starts, const uint64_t* lengths, size_t count) {
  for (size_t i = 0; i < count; ++i) survivors_.push_back({old_starts[i], new_starts[i], lengths[i]});
}

void LifetimeTracker::survived(const uint64_t* starts, const uint64_t* lengths, size_t count) {
  for (size_t i = 0; i < count; ++i) survivors_.push_back({starts[i], starts[i], lengths[i]});
}

void LifetimeTracker::survivor_ranges(const SurvivorRanges& ranges) {
  const uint8_t* at = ranges.values;
  for (uint32_t i = 0; i < ranges.count; ++i) {
    uint64_t v[3];
    if (ranges.moved) {
      memcpy(v, at, 24);
      at += 24;
    } else {
      memcpy(v, at, 8);
      v[1] = v[0];
      memcpy(&v[2], at + 8, 8);
      at += 16;
    }
    survivors_.push_back({v[0], v[1], v[2]});
  }
}

__attribute__((always_inline)) inline const GenerationRange* LifetimeTracker::find_range(uint64_t address) const {
  if (range_hint_ < ranges_.size()) {
    const GenerationRange& r = ranges_[range_hint_];
    if (r.start <= address && address < r.end) return &r;
  }
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), address,
                             [](uint64_t a, const GenerationRange& r) { return a < r.start; });
  if (it == ranges_.begin()) return nullptr;
  --it;
  if (address >= it->end) return nullptr;
  range_hint_ = static_cast<size_t>(it - ranges_.begin());
  return &*it;
}

__attribute__((always_inline)) inline const LifetimeTracker::Survivor* LifetimeTracker::find_survivor(uint64_t address) const {
  // Dead objects between two survivor ranges are the common case: check the gap after
  // the last range found before searching.
  if (survivor_hint_ < survivors_.size()) {
    const Survivor& s = survivors_[survivor_hint_];
    if (s.old_start <= address) {
      if (address < s.old_start + s.length) return &s;
      if (survivor_hint_ + 1 == survivors_.size() || address < survivors_[survivor_hint_ + 1].old_start) return nullptr;
    }
  }
  auto it = std::upper_bound(survivors_.begin(), survivors_.end(), address,
                             [](uint64_t a, const Survivor& s) { return a < s.old_start; });
  if (it == survivors_.begin()) return nullptr;
  --it;
  survivor_hint_ = static_cast<size_t>(it - survivors_.begin());
  return address < it->old_start + it->length ? &*it : nullptr;
}

__attribute__((always_inline)) inline bool LifetimeTracker::settle(TrackedObject& object, bool* now_old) {
  const bool big = object.is_big();
  const uint64_t address = big ? big_[object.address()].address : object.address();
  const GenerationRange* range = find_range(address);
  if (!range) {
    // Outside the GC heap's ranges (frozen objects): never collected.
    *now_old = true;
    return true;
  }
  if (!(condemned_ & (1u << range->generation))) {
    *now_old = range->generation >= 2;
    return true;
  }
  const Survivor* s = find_survivor(address);
  if (!s) return false;
  const uint64_t moved = s->new_start + (address - s->old_start);
  if (__builtin_expect(!big && moved <= TrackedObject::kAddressMask, 1))
    object.place = moved | (object.place & ~TrackedObject::kAddressMask);
  else if (big)
    big_[object.address()].address = moved;
  else
    object = TrackedObject::big(new_big(moved, object.size()), object.id);  // moved where no address fits
  *now_old = false;  // its new generation is known at the next GC
  return true;
}

// A dead object's bytes; a big one's entry is kept until the next end_gc (the caller may read it).
__attribute__((always_inline)) inline void LifetimeTracker::note_dead(const TrackedObject& object) {
  if (__builtin_expect(object.is_big(), 0)) {
    dead_bytes_ += big_[object.address()].size;
    big_dead_.push_back(object.address());
  } else {
    dead_bytes_ += object.size();
  }
}

__attribute__((always_inline)) inline void LifetimeTracker::settle_into(const TrackedObject& object, BlockList* young, std::vector<TrackedObject>* dead) {
  TrackedObject o = object;
  bool now_old = false;
  if (!settle(o, &now_old)) {
    note_dead(o);
    dead->push_back(o);
  } else if (now_old) {
    old_.push_back(o);
  } else {
    young->push_back(o);
  }
}

// Settles a list in place: the dead go to `dead`, the survivors stay in order in the slots
// read (an old object stays old; a young one that is now old moves to the old list when
// Promote, decided at compile time so the GC's hottest loop has no branch for it).
template <bool Promote>
void LifetimeTracker::settle_list(BlockList* list, std::vector<TrackedObject>* dead) {
  size_t kept = 0;
  for (size_t i = 0; i < list->size(); ++i) {
    TrackedObject& slot = (*list)[i];
    TrackedObject o = slot;
    bool now_old = false;
    if (!settle(o, &now_old)) {
      note_dead(o);
      dead->push_back(o);
    } else if (Promote && now_old) {
      old_.push_back(o);
    } else {
      // An object that stays in its own slot unmoved (every one before it kept, the common case
      // where a GC does not condemn its generation) is not written back: its line stays clean.
      if (kept != i || o.place != slot.place) (*list)[kept] = o;
      ++kept;
    }
  }
  list->truncate(kept);
}

void LifetimeTracker::end_gc(std::vector<TrackedObject>* dead) {
  // The big objects reported dead last time: their entries are free now.
  big_free_.insert(big_free_.end(), big_dead_.begin(), big_dead_.end());
  big_dead_.clear();
  dead_bytes_ = 0;
  if (!in_gc_) return;
  // Room for every object that can die in this GC, made before the first is appended: grown
  // one push at a time, the vector doubled and copied itself into fresh pages (perf, deep: a
  // tenth of the allocating thread in the kernel clearing those pages under this function).
  size_t can_die = young_.size() + (condemned_ & ~3u ? old_.size() : 0);
  for (auto& span : pending_) can_die += span.second;
  if (dead->capacity() - dead->size() < can_die) dead->reserve(std::max(dead->size() + can_die, 2 * dead->capacity()));
  if (!std::is_sorted(survivors_.begin(), survivors_.end(), [](const Survivor& a, const Survivor& b) { return a.old_start < b.old_start; }))
    std::sort(survivors_.begin(), survivors_.end(), [](const Survivor& a, const Survivor& b) { return a.old_start < b.old_start; });

  survivor_hint_ = 0;
  // Old objects only die when generation 2, LOH or POH is condemned. They are settled
  // first: the dead then come out oldest first (old, young, new), so that a thread's dead
  // are usually ascending already and need no sorting (Recorder::sort_by_id); and the
  // objects the young loop adds to the old list are not settled twice.
  if (condemned_ & ~3u) settle_list<false>(&old_, dead);
  // Young objects that stay young are kept in place, in order: written back to the slots
  // just read (in cache) instead of copied to a second list (perf, deep: a third of
  // end_gc's own time was the stores of that copy into memory not in cache).
  settle_list<true>(&young_, dead);
  for (auto& [objects, count] : pending_)
    for (size_t i = 0; i < count; ++i) settle_into(objects[i], &young_, dead);
  pending_.clear();
  live_bytes_ -= dead_bytes_;
  BlockList::fence();

  survivors_.clear();
  ranges_.clear();
  in_gc_ = false;
}

void LifetimeTracker::clear() {
  pending_.clear();
  young_.release();
  old_.release();
  pool_.release();
  big_.clear();
  big_free_.clear();
  big_dead_.clear();
  dead_bytes_ = 0;
  survivors_.clear();
  ranges_.clear();
  live_bytes_ = 0;
  in_gc_ = false;
}

}  // namespace memnb
