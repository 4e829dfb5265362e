#include <gtest/gtest.h>

#include <algorithm>

#include "lifetime/lifetime_tracker.h"
#include "tracked_ids.h"

using namespace memnb;

namespace {
constexpr uint64_t kGen0 = 0x10000, kGen1 = 0x20000, kGen2 = 0x30000, kLoh = 0x40000;
std::vector<GenerationRange> ranges() {
  return {{kGen0, kGen0 + 0x1000, 0}, {kGen1, kGen1 + 0x1000, 1}, {kGen2, kGen2 + 0x1000, 2}, {kLoh, kLoh + 0x1000, 3}};
}
TrackedObject obj(uint64_t address, uint64_t id, uint64_t size) {
  EXPECT_TRUE(TrackedObject::fits(address, size));
  return TrackedObject::packed(address, id, size);
}
}  // namespace

TEST(LifetimeTracker, unreported_objects_in_condemned_generation_die) {
  LifetimeTracker t;
  TrackedObject objs[] = {obj(kGen0 + 0x00, make_object_id(2, 0), 24), obj(kGen0 + 0x18, make_object_id(2, 1), 24),
                          obj(kGen0 + 0x30, make_object_id(2, 2), 32)};
  t.add(objs, 3);
  t.begin_gc(1, ranges());
  uint64_t start = kGen0 + 0x18, len = 24;
  t.survived(&start, &len, 1);
  std::vector<TrackedObject> dead;
  t.end_gc(&dead);
  EXPECT_EQ(seqs(dead), (std::vector<uint64_t>{0, 2}));
  EXPECT_EQ(t.live_count(), 1u);
  EXPECT_EQ(t.live_bytes(), 24u);
}

TEST(LifetimeTracker, survivors_of_a_compacting_gc_follow_their_new_address) {
  LifetimeTracker t;
  TrackedObject objs[] = {obj(kGen0 + 0x100, make_object_id(3, 7), 40)};
  t.add(objs, 1);
  t.begin_gc(1, ranges());
  uint64_t old_start = kGen0 + 0x100, new_start = kGen1 + 0x10, len = 40;
  t.moved(&old_start, &new_start, &len, 1);
  std::vector<TrackedObject> dead;
  t.end_gc(&dead);
  EXPECT_TRUE(dead.empty());
  // Next GC condemns gen1 and reports nothing: the object died at its new address.
  t.begin_gc(0b11, ranges());
  t.end_gc(&dead);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(t.address_of(dead[0]), kGen1 + 0x10);
  EXPECT_EQ(object_stream(dead[0].id), 3u);
  EXPECT_EQ(object_seq(dead[0].id), 7u);
}

TEST(LifetimeTracker, older_generations_survive_a_gen0_gc_unreported) {
  LifetimeTracker t;
  TrackedObject objs[] = {obj(kGen2 + 0x10, make_object_id(2, 0), 100), obj(kLoh + 0x10, make_object_id(2, 1), 90000)};
  t.add(objs, 2);
  std::vector<TrackedObject> dead;
  t.begin_gc(1, ranges());
  t.end_gc(&dead);
  EXPECT_TRUE(dead.empty());
  // A full GC condemns everything; nothing reported: both die.
  t.begin_gc(0b11111, ranges());
  t.end_gc(&dead);
  EXPECT_EQ(seqs(dead), (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(t.live_bytes(), 0u);
}

TEST(LifetimeTracker, objects_outside_every_range_never_die) {
  LifetimeTracker t;
  TrackedObject frozen[] = {obj(0x900000, make_object_id(2, 0), 56)};
  t.add(frozen, 1);
  std::vector<TrackedObject> dead;
  for (int i = 0; i < 3; ++i) {
    t.begin_gc(0b11111, ranges());
    t.end_gc(&dead);
  }
  EXPECT_TRUE(dead.empty());
  EXPECT_EQ(t.live_count(), 1u);
}

TEST(BlockList, truncation_keeps_its_blocks_and_refills_them_in_place) {
  BlockList list;
  const size_t n = 3 * BlockList::kBlock + 5;
  for (size_t i = 0; i < n; ++i) list.push_back(obj(i * 8, i, 24));
  ASSERT_EQ(list.capacity(), 4 * BlockList::kBlock);
  TrackedObject* second_block = &list[BlockList::kBlock];

  list.truncate(10);
  EXPECT_EQ(list.size(), 10u);
  EXPECT_EQ(list.capacity(), 4 * BlockList::kBlock);  // nothing returned to the system
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(list[i].id, i);

  for (size_t i = 10; i < n; ++i) list.push_back(obj(i * 8, 1000000 + i, 32));
  EXPECT_EQ(list.capacity(), 4 * BlockList::kBlock);
  EXPECT_EQ(&list[BlockList::kBlock], second_block);  // the same memory, refilled
  EXPECT_EQ(list[9].id, 9u);
  EXPECT_EQ(list[10].id, 1000010u);
  EXPECT_EQ(list[n - 1].id, 1000000u + n - 1);
  EXPECT_EQ(list[n - 1].size(), 32u);

  list.release();
  EXPECT_EQ(list.size(), 0u);
  EXPECT_EQ(list.capacity(), 0u);
}

TEST(LifetimeTracker, old_objects_settled_after_a_full_gc_are_the_survivors_only) {
  // Old objects are kept in reused blocks: a full GC that keeps a few must keep exactly those.
  LifetimeTracker t;
  std::vector<TrackedObject> objs;
  for (uint64_t i = 0; i < 40000; ++i) objs.push_back(obj(kGen2 + i % 0x1000, make_object_id(1, i), 24));
  // The gen2 range is 0x1000 long; place the objects there by address modulo (duplicates are fine
  // for the tracker: it settles each record on its own).
  t.add(objs.data(), objs.size());
  std::vector<TrackedObject> dead;
  t.begin_gc(1, ranges());  // gen0 GC: all are in gen2, none condemned → all become old
  t.end_gc(&dead);
  EXPECT_TRUE(dead.empty());
  EXPECT_EQ(t.live_count(), 40000u);
  // A full GC where only [kGen2, kGen2 + 0x10) survives.
  t.begin_gc(0b11111, ranges());
  uint64_t start = kGen2, len = 0x10;
  t.survived(&start, &len, 1);
  t.end_gc(&dead);
  size_t expected_alive = 0;
  for (uint64_t i = 0; i < 40000; ++i) expected_alive += (i % 0x1000) < 0x10;
  EXPECT_EQ(t.live_count(), expected_alive);
  EXPECT_EQ(dead.size(), 40000u - expected_alive);
  // Refill and settle again: the kept blocks hold the new old objects, not stale ones.
  t.add(objs.data(), objs.size());
  t.begin_gc(1, ranges());
  t.end_gc(&dead);
  EXPECT_EQ(t.live_count(), expected_alive + 40000u);
  dead.clear();
  t.begin_gc(0b11111, ranges());
  t.end_gc(&dead);
  EXPECT_EQ(dead.size(), expected_alive + 40000u);
  EXPECT_EQ(t.live_count(), 0u);
}

TEST(LifetimeTracker, young_objects_kept_in_place_across_gcs_are_exactly_the_survivors) {
  // More young objects than one block: survivors of each GC are compacted in place, so a
  // stale or shifted slot would show as a wrong death, a wrong address or a wrong count.
  LifetimeTracker t;
  const uint64_t n = BlockList::kBlock + 1000;
  std::vector<TrackedObject> objs;
  // Each object 1 byte apart in gen0 (the tracker needs no real layout), sizes 16 or 24.
  for (uint64_t i = 0; i < n; ++i) objs.push_back(obj(kGen0 + i % 0x1000, make_object_id(5, i), 16u + 8u * (i % 2)));
  // Objects share addresses modulo 0x1000: a survivor range [kGen0, kGen0 + 0x800) keeps the
  // objects whose i % 0x1000 < 0x800 and moves them to gen1.
  t.add(objs.data(), objs.size());
  std::vector<TrackedObject> dead;
  t.begin_gc(1, ranges());
  uint64_t old_start = kGen0, new_start = kGen1, len = 0x800;
  t.moved(&old_start, &new_start, &len, 1);
  t.end_gc(&dead);
  uint64_t kept = 0, kept_bytes = 0;
  std::vector<uint64_t> expected_dead;
  for (uint64_t i = 0; i < n; ++i) {
    if (i % 0x1000 < 0x800) {
      ++kept;
      kept_bytes += objs[i].size();
    } else {
      expected_dead.push_back(i);
    }
  }
  EXPECT_EQ(seqs(dead), expected_dead);
  EXPECT_EQ(t.live_count(), kept);
  EXPECT_EQ(t.live_bytes(), kept_bytes);

  // A gen0 GC with new objects that all die: the gen1 objects stay untouched and in order.
  TrackedObject fresh[] = {obj(kGen0 + 0x10, make_object_id(5, n), 24), obj(kGen0 + 0x20, make_object_id(5, n + 1), 24)};
  t.add(fresh, 2);
  dead.clear();
  t.begin_gc(1, ranges());
  t.end_gc(&dead);
  EXPECT_EQ(seqs(dead), (std::vector<uint64_t>{n, n + 1}));
  EXPECT_EQ(t.live_count(), kept);

  // A compacting gen1 GC moves the first half of gen1 ([kGen1, kGen1 + 0x400)) to gen2: the
  // rest die, and the dead come out in ascending order without sorting (one stream).
  dead.clear();
  t.begin_gc(0b11, ranges());
  uint64_t from = kGen1, to = kGen2 + 0x100, half = 0x400;
  t.moved(&from, &to, &half, 1);
  t.end_gc(&dead);
  std::vector<uint64_t> dead_now, in_order;
  uint64_t survivors = 0;
  for (uint64_t i = 0; i < n; ++i) {
    if (i % 0x1000 >= 0x800) continue;
    if (i % 0x1000 < 0x400) ++survivors;
    else dead_now.push_back(i);
  }
  for (auto& o : dead) in_order.push_back(object_seq(o.id));
  EXPECT_EQ(in_order, dead_now);
  for (auto& o : dead) EXPECT_EQ(t.address_of(o), kGen1 + (object_seq(o.id) % 0x1000));
  EXPECT_EQ(t.live_count(), survivors);

  // A gen0 GC finds them in gen2 (old from now on), then a full GC with no survivors: every
  // one dies at the address the gen1 GC moved it to.
  dead.clear();
  t.begin_gc(1, ranges());
  t.end_gc(&dead);
  EXPECT_TRUE(dead.empty());
  t.begin_gc(0b11111, ranges());
  t.end_gc(&dead);
  EXPECT_EQ(dead.size(), survivors);
  for (auto& o : dead) EXPECT_EQ(t.address_of(o), kGen2 + 0x100 + (object_seq(o.id) % 0x1000));
  EXPECT_EQ(t.live_count(), 0u);
  EXPECT_EQ(t.live_bytes(), 0u);
}

TEST(BlockList, blocks_one_list_no_longer_needs_go_through_the_pool_to_another) {
  BlockPool pool;
  BlockList young(&pool), old(&pool);
  const size_t n = 3 * BlockList::kBlock;
  for (size_t i = 0; i < n; ++i) young.push_back(obj(i * 8, i, 24));
  TrackedObject* second = &young[BlockList::kBlock];
  TrackedObject* third = &young[2 * BlockList::kBlock];

  young.truncate(BlockList::kBlock - 1);  // one block still needed
  EXPECT_EQ(young.capacity(), BlockList::kBlock);
  EXPECT_EQ(pool.free.size(), 2u);
  for (size_t i = 0; i < BlockList::kBlock - 1; ++i) ASSERT_EQ(young[i].id, i);

  // The old list grows into the young list's former blocks, not new memory.
  for (size_t i = 0; i < 2 * BlockList::kBlock; ++i) old.push_back(obj(i * 16, 1000000 + i, 32));
  EXPECT_EQ(pool.free.size(), 0u);
  EXPECT_EQ(&old[0], second);  // the last block given back (the young list's second) is the first taken
  EXPECT_EQ(&old[BlockList::kBlock], third);
  EXPECT_EQ(old[2 * BlockList::kBlock - 1].id, 1000000 + 2 * BlockList::kBlock - 1);
  // A list that then needs a block more than the pool holds gets a new one.
  young.push_back(obj(1, 7, 24));
  young.push_back(obj(2, 8, 24));
  EXPECT_EQ(young.capacity(), 2 * BlockList::kBlock);
  EXPECT_EQ(young[BlockList::kBlock].id, 8u);
}

TEST(LifetimeTracker, the_dead_get_room_for_every_object_that_can_die_before_the_first_is_appended) {
  // Grown one push at a time the vector doubles and copies itself (capacity 1024 for 1000);
  // given room first it holds exactly what can die: the 1,000 new objects of a gen0 GC.
  LifetimeTracker t;
  std::vector<TrackedObject> objs;
  for (uint64_t i = 0; i < 1000; ++i) objs.push_back(obj(kGen0 + i * 4, make_object_id(1, i), 4));
  t.add(objs.data(), objs.size());
  t.begin_gc(1, ranges());
  std::vector<TrackedObject> dead;
  t.end_gc(&dead);
  EXPECT_EQ(dead.size(), 1000u);
  EXPECT_EQ(dead.capacity(), 1000u);
  EXPECT_EQ(seqs(dead).back(), 999u);
}

TEST(TrackedObject, packs_addresses_and_sizes_up_to_their_limits_and_no_further) {
  constexpr uint64_t top = TrackedObject::kAddressMask;  // 2^47 - 1
  constexpr uint64_t biggest = TrackedObject::kBig - 1;  // 2^17 - 2 bytes
  TrackedObject o = TrackedObject::packed(top, make_object_id(7, 123), biggest);
  EXPECT_FALSE(o.is_big());
  EXPECT_EQ(o.address(), top);
  EXPECT_EQ(o.size(), biggest);
  EXPECT_EQ(object_stream(o.id), 7u);
  EXPECT_EQ(object_seq(o.id), 123u);
  TrackedObject zero = TrackedObject::packed(0, 0, 0);
  EXPECT_FALSE(zero.is_big());
  EXPECT_EQ(zero.address(), 0u);
  EXPECT_EQ(zero.size(), 0u);
  EXPECT_TRUE(TrackedObject::fits(top, biggest));
  EXPECT_FALSE(TrackedObject::fits(top + 1, 24));
  EXPECT_FALSE(TrackedObject::fits(0x10000, biggest + 1));
  EXPECT_FALSE(TrackedObject::fits(0x10000, uint64_t{1} << 40));
}

TEST(TrackedObject, a_log_keeps_big_objects_beside_and_refuses_one_more_than_it_has_room_for) {
  TrackedObject objects[4];
  BigObject big[2];
  size_t count = 0, big_count = 0;
  const uint64_t far = TrackedObject::kAddressMask + 1;
  ASSERT_TRUE(append_logged(objects, &count, big, &big_count, 2, kGen0, make_object_id(2, 0), 24));
  ASSERT_TRUE(append_logged(objects, &count, big, &big_count, 2, kLoh, make_object_id(2, 1), TrackedObject::kBig));
  ASSERT_TRUE(append_logged(objects, &count, big, &big_count, 2, far, make_object_id(2, 2), 32));
  EXPECT_FALSE(append_logged(objects, &count, big, &big_count, 2, kLoh, make_object_id(2, 3), 1u << 30));
  EXPECT_EQ(count, 3u);
  EXPECT_EQ(big_count, 2u);
  EXPECT_FALSE(objects[0].is_big());
  EXPECT_EQ(objects[0].address(), kGen0);
  EXPECT_TRUE(objects[1].is_big());
  EXPECT_EQ(objects[1].address(), 0u);  // its entry
  EXPECT_EQ(big[0].address, kLoh);
  EXPECT_EQ(big[0].size, TrackedObject::kBig);
  EXPECT_EQ(big[0].slot, 1u);
  EXPECT_TRUE(objects[2].is_big());
  EXPECT_EQ(objects[2].address(), 1u);
  EXPECT_EQ(big[1].address, far);
  EXPECT_EQ(big[1].size, 32u);
  EXPECT_EQ(big[1].slot, 2u);
  // A small object still fits when the big entries are full.
  EXPECT_TRUE(append_logged(objects, &count, big, &big_count, 2, kGen0 + 0x18, make_object_id(2, 3), 24));
  EXPECT_EQ(count, 4u);
}

TEST(LifetimeTracker, big_objects_keep_their_exact_size_and_address_through_moves_and_death) {
  // A 64 MiB array in the LOH, a 200 KiB one in gen0 and a small object: the big ones live in the
  // tracker's side table; live and dead bytes are exact, and the side table empties after they die.
  LifetimeTracker t;
  TrackedObject objects[3];
  BigObject big[4];
  size_t count = 0, big_count = 0;
  const uint64_t huge = uint64_t{64} << 20, large = 200u << 10;
  ASSERT_TRUE(append_logged(objects, &count, big, &big_count, 4, kLoh + 0x20, make_object_id(3, 0), huge));
  ASSERT_TRUE(append_logged(objects, &count, big, &big_count, 4, kGen0 + 0x40, make_object_id(3, 1), large));
  ASSERT_TRUE(append_logged(objects, &count, big, &big_count, 4, kGen0 + 0x80, make_object_id(3, 2), 24));
  t.add(objects, count, big, big_count);
  EXPECT_EQ(t.big_entries(), 2u);
  EXPECT_EQ(t.live_bytes(), huge + large + 24);

  // A compacting gen0 GC moves both gen0 objects to gen1.
  std::vector<TrackedObject> dead;
  t.begin_gc(1, ranges());
  uint64_t from = kGen0, to = kGen1 + 0x100, len = 0x100;
  t.moved(&from, &to, &len, 1);
  t.end_gc(&dead);
  EXPECT_TRUE(dead.empty());
  EXPECT_EQ(t.live_bytes(), huge + large + 24);
  EXPECT_EQ(t.dead_bytes(), 0u);

  // A gen1 GC keeps only the small one: the 200 KiB object dies at its new address, whole.
  t.begin_gc(0b11, ranges());
  uint64_t small_at = kGen1 + 0x180, small_len = 24;
  t.survived(&small_at, &small_len, 1);
  t.end_gc(&dead);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(object_seq(dead[0].id), 1u);
  EXPECT_EQ(t.address_of(dead[0]), kGen1 + 0x140);
  EXPECT_EQ(t.size_of(dead[0]), large);
  EXPECT_EQ(t.dead_bytes(), large);
  EXPECT_EQ(t.live_bytes(), huge + 24);
  EXPECT_EQ(t.big_entries(), 2u);  // the dead one's entry is readable until the next GC ends

  // A full GC with nothing surviving: the LOH array and the small object die.
  dead.clear();
  t.begin_gc(0b11111, ranges());
  t.end_gc(&dead);
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(seqs(dead), (std::vector<uint64_t>{0, 2}));
  for (auto& o : dead) {
    if (object_seq(o.id) == 0) {
      EXPECT_EQ(t.address_of(o), kLoh + 0x20);
      EXPECT_EQ(t.size_of(o), huge);
    } else {
      EXPECT_EQ(t.address_of(o), kGen1 + 0x180);
      EXPECT_EQ(t.size_of(o), 24u);
    }
  }
  EXPECT_EQ(t.dead_bytes(), huge + 24);
  EXPECT_EQ(t.live_bytes(), 0u);
  EXPECT_EQ(t.big_entries(), 1u);
  t.begin_gc(1, ranges());
  t.end_gc(&dead);
  EXPECT_EQ(t.big_entries(), 0u);
  EXPECT_EQ(t.dead_bytes(), 0u);
}

TEST(LifetimeTracker, an_object_moved_where_no_address_fits_becomes_big_and_keeps_its_size) {
  // Generation ranges beyond 2^47 (a 57-bit address space): a small object moved there keeps its
  // exact size and new address in the side table.
  const uint64_t far = uint64_t{1} << 50;
  std::vector<GenerationRange> r = {{kGen0, kGen0 + 0x1000, 0}, {far, far + 0x1000, 1}};
  LifetimeTracker t;
  TrackedObject objs[] = {obj(kGen0 + 0x10, make_object_id(4, 9), 40)};
  t.add(objs, 1);
  std::vector<TrackedObject> dead;
  t.begin_gc(1, r);
  uint64_t from = kGen0, to = far, len = 0x100;
  t.moved(&from, &to, &len, 1);
  t.end_gc(&dead);
  EXPECT_TRUE(dead.empty());
  EXPECT_EQ(t.big_entries(), 1u);
  EXPECT_EQ(t.live_bytes(), 40u);
  t.begin_gc(0b11, r);
  t.end_gc(&dead);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(t.address_of(dead[0]), far + 0x10);
  EXPECT_EQ(t.size_of(dead[0]), 40u);
  EXPECT_EQ(t.dead_bytes(), 40u);
  EXPECT_EQ(t.live_bytes(), 0u);
}
