#include <gtest/gtest.h>

#include <algorithm>

#include "lifetime/lifetime_tracker.h"

using namespace memnb;

namespace {
constexpr uint64_t kGen0 = 0x10000, kGen1 = 0x20000, kGen2 = 0x30000, kLoh = 0x40000;
std::vector<GenerationRange> ranges() {
  return {{kGen0, kGen0 + 0x1000, 0}, {kGen1, kGen1 + 0x1000, 1}, {kGen2, kGen2 + 0x1000, 2}, {kLoh, kLoh + 0x1000, 3}};
}
std::vector<uint64_t> seqs(const std::vector<TrackedObject>& dead) {
  std::vector<uint64_t> out;
  for (auto& o : dead) out.push_back(object_seq(o.id));
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

TEST(LifetimeTracker, unreported_objects_in_condemned_generation_die) {
  LifetimeTracker t;
  TrackedObject objs[] = {{kGen0 + 0x00, make_object_id(2, 0), 24}, {kGen0 + 0x18, make_object_id(2, 1), 24},
                          {kGen0 + 0x30, make_object_id(2, 2), 32}};
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
  TrackedObject objs[] = {{kGen0 + 0x100, make_object_id(3, 7), 40}};
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
  EXPECT_EQ(dead[0].address, kGen1 + 0x10);
  EXPECT_EQ(object_stream(dead[0].id), 3u);
  EXPECT_EQ(object_seq(dead[0].id), 7u);
}

TEST(LifetimeTracker, older_generations_survive_a_gen0_gc_unreported) {
  LifetimeTracker t;
  TrackedObject objs[] = {{kGen2 + 0x10, make_object_id(2, 0), 100}, {kLoh + 0x10, make_object_id(2, 1), 90000}};
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
  TrackedObject frozen[] = {{0x900000, make_object_id(2, 0), 56}};
  t.add(frozen, 1);
  std::vector<TrackedObject> dead;
  for (int i = 0; i < 3; ++i) {
    t.begin_gc(0b11111, ranges());
    t.end_gc(&dead);
  }
  EXPECT_TRUE(dead.empty());
  EXPECT_EQ(t.live_count(), 1u);
}
