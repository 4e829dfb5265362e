#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "lifetime/lifetime_tracker.h"
#include "tracked_ids.h"
#include "lifetime/survivor_events.h"

using namespace memnb;

namespace {
// A payload as the runtime writes it: Index u32, Count u32, ClrInstanceID u16, then the values.
std::vector<uint8_t> payload(uint32_t index, const std::vector<uint64_t>& values, size_t per_range) {
  std::vector<uint8_t> out(10 + values.size() * 8);
  uint32_t count = static_cast<uint32_t>(values.size() / per_range);
  uint16_t instance = 9;
  memcpy(out.data(), &index, 4);
  memcpy(out.data() + 4, &count, 4);
  memcpy(out.data() + 8, &instance, 2);
  if (!values.empty()) memcpy(out.data() + 10, values.data(), values.size() * 8);
  return out;
}

std::vector<GenerationRange> ranges() { return {{0x10000, 0x11000, 0}, {0x20000, 0x21000, 1}}; }
}  // namespace

TEST(SurvivorEvents, a_moved_ranges_event_gives_its_ranges_in_place) {
  auto data = payload(3, {0x10018, 0x20000, 48, 0x10100, 0x20030, 16}, 3);
  SurvivorRanges r;
  ASSERT_TRUE(parse_survivor_ranges(kGcBulkMovedObjectRangesEventId, data.data(), data.size(), &r));
  EXPECT_TRUE(r.moved);
  EXPECT_EQ(r.count, 2u);
  EXPECT_EQ(r.values, data.data() + 10);  // unaligned, read where it lies
}

TEST(SurvivorEvents, a_surviving_ranges_event_gives_its_ranges) {
  auto data = payload(0, {0x10018, 48}, 2);
  SurvivorRanges r;
  ASSERT_TRUE(parse_survivor_ranges(kGcBulkSurvivingObjectRangesEventId, data.data(), data.size(), &r));
  EXPECT_FALSE(r.moved);
  EXPECT_EQ(r.count, 1u);
}

TEST(SurvivorEvents, other_events_and_payloads_of_another_length_are_refused) {
  auto data = payload(0, {0x10018, 48}, 2);
  SurvivorRanges r;
  EXPECT_FALSE(parse_survivor_ranges(23, data.data(), data.size(), &r));  // GCGenerationRange
  // Count says one moved range (24 bytes) where 16 follow.
  EXPECT_FALSE(parse_survivor_ranges(kGcBulkMovedObjectRangesEventId, data.data(), data.size(), &r));
  EXPECT_FALSE(parse_survivor_ranges(kGcBulkSurvivingObjectRangesEventId, data.data(), data.size() - 1, &r));
  EXPECT_FALSE(parse_survivor_ranges(kGcBulkSurvivingObjectRangesEventId, data.data(), 9, &r));
  EXPECT_FALSE(parse_survivor_ranges(kGcBulkSurvivingObjectRangesEventId, nullptr, 0, &r));
  auto empty = payload(0, {}, 2);
  ASSERT_TRUE(parse_survivor_ranges(kGcBulkSurvivingObjectRangesEventId, empty.data(), empty.size(), &r));
  EXPECT_EQ(r.count, 0u);
}

// The tracker settles a GC from events as from the callbacks' arrays: survivors of a sweeping GC
// stay, those of a compacting one follow their range, the rest of the condemned die.
TEST(SurvivorEvents, the_tracker_settles_a_gc_from_event_ranges_as_from_callback_arrays) {
  LifetimeTracker t;
  TrackedObject objs[] = {TrackedObject::packed(0x10000, make_object_id(1, 0), 24),
                          TrackedObject::packed(0x10018, make_object_id(1, 1), 48),
                          TrackedObject::packed(0x10048, make_object_id(1, 2), 24),
                          TrackedObject::packed(0x10100, make_object_id(1, 3), 16)};
  t.add(objs, 4);
  t.begin_gc(1, ranges());
  // Two events of one compacting GC: 0x10018 (48 bytes) moves to 0x20000, 0x10100 to 0x20030.
  auto first = payload(0, {0x10018, 0x20000, 48}, 3);
  auto second = payload(1, {0x10100, 0x20030, 16}, 3);
  for (auto* data : {&first, &second}) {
    SurvivorRanges r;
    ASSERT_TRUE(parse_survivor_ranges(kGcBulkMovedObjectRangesEventId, data->data(), data->size(), &r));
    t.survivor_ranges(r);
  }
  std::vector<TrackedObject> dead;
  t.end_gc(&dead);
  EXPECT_EQ(seqs(dead), (std::vector<uint64_t>{0, 2}));
  EXPECT_EQ(t.live_count(), 2u);
  EXPECT_EQ(t.live_bytes(), 64u);

  // A sweeping gen1 GC keeps the object at 0x20030 in place, and the other dies at its new address.
  t.begin_gc(0b11, ranges());
  auto swept = payload(0, {0x20030, 16}, 2);
  SurvivorRanges r;
  ASSERT_TRUE(parse_survivor_ranges(kGcBulkSurvivingObjectRangesEventId, swept.data(), swept.size(), &r));
  t.survivor_ranges(r);
  dead.clear();
  t.end_gc(&dead);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(object_seq(dead[0].id), 1u);
  EXPECT_EQ(t.address_of(dead[0]), 0x20000u);
  EXPECT_EQ(t.live_count(), 1u);
  EXPECT_EQ(t.live_bytes(), 16u);
}
