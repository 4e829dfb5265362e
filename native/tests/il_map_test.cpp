#include <gtest/gtest.h>

#include <vector>

#include "profiler/il_map.h"

using namespace memnb;

namespace {

constexpr ULONG32 kNoMapping = 0xFFFFFFFFu;
constexpr ULONG32 kProlog = 0xFFFFFFFEu;
constexpr ULONG32 kEpilog = 0xFFFFFFFDu;

// The runtime's IL-to-native map of System.Collections.Generic.Dictionary`2.Resize (System.Private.CoreLib, .NET
// 10.0.12, ReadyToRun code), as GetILToNativeMapping3 gave it: no entry for IL offset 0, whose code (the first
// statement, `new Entry[newSize]`) the prolog's entry covers up to 0x33.
const std::vector<COR_DEBUG_IL_TO_NATIVE_MAP> kResize = {
    {kProlog, 0x0, 0x33}, {0x7, 0x33, 0x37},  {0xe, 0x37, 0x47},  {0x90, 0x47, 0x5d},   {0x9c, 0x5d, 0x76},
    {0xa8, 0x76, 0x78},   {0xad, 0x87, 0x95}, {0xad, 0xf9, 0x110}, {0xbd, 0x95, 0xc9},  {0xbd, 0x110, 0x13c},
    {0xd2, 0xc9, 0xd2},   {0xd2, 0x13c, 0x143}, {0xe4, 0xd2, 0xd7}, {0xe4, 0x143, 0x148}, {0xeb, 0xd7, 0xd9},
    {0xeb, 0x148, 0x14a}, {0xf1, 0x78, 0x87}, {0xf1, 0xd9, 0xde},  {0xf1, 0x14a, 0x151}, {0xf6, 0xde, 0xeb},
    {0xfd, 0xeb, 0xeb},   {kEpilog, 0xeb, 0xf9}, {kNoMapping, 0x151, 0x15e},
};

uint32_t at(const std::vector<COR_DEBUG_IL_TO_NATIVE_MAP>& map, uint64_t native_offset) {
  uint32_t il = 0xDEAD;
  EXPECT_TRUE(il_offset_at(map.data(), map.size(), native_offset, &il)) << native_offset;
  return il;
}

}  // namespace

TEST(IlMap, a_call_inside_the_prologs_entry_is_at_il_offset_zero) {
  // The allocation helper's return address in Resize: 0x30, the runtime's map says prolog.
  EXPECT_EQ(at(kResize, 0x30), 0u);
  EXPECT_EQ(at(kResize, 0x01), 0u);
  EXPECT_EQ(at(kResize, 0x32), 0u);
}

TEST(IlMap, the_entry_covering_the_offset_wins_from_its_first_byte) {
  EXPECT_EQ(at(kResize, 0x33), 0x7u);  // where the prolog's entry ends, the next one begins
  EXPECT_EQ(at(kResize, 0x47), 0x90u);
  EXPECT_EQ(at(kResize, 0x5c), 0x90u);
  EXPECT_EQ(at(kResize, 0x80), 0xf1u);  // entries are not in native order
  EXPECT_EQ(at(kResize, 0x90), 0xadu);
  EXPECT_EQ(at(kResize, 0x12a), 0xbdu);
}

TEST(IlMap, past_the_epilog_or_in_an_unmapped_stretch_the_nearest_entry_before_it) {
  EXPECT_EQ(at(kResize, 0xf0), 0xfdu);   // in the epilog: the empty entry at 0xeb
  EXPECT_EQ(at(kResize, 0x158), 0xf1u);  // NO_MAPPING at the end: the entry ending at 0x151
  EXPECT_EQ(at(kResize, 0x200), 0xf1u);  // past the end
}

// System.Linq.Enumerable+OrderedIterator`1.ToList (System.Linq, .NET 10.0.12, tier-1 code): after the prolog an
// unmapped stretch (the first statements' inlined calls, where three allocations returned), then IL 0x15.
const std::vector<COR_DEBUG_IL_TO_NATIVE_MAP> kToList = {
    {kProlog, 0x0, 0x60},    {0x15, 0xd1, 0xdb},      {0x2d, 0xdb, 0xe1},       {0x33, 0xe1, 0x108},
    {0x33, 0x260, 0x2ed},    {0x40, 0x108, 0x10b},    {kEpilog, 0x10b, 0x14d},  {kNoMapping, 0x60, 0xd1},
    {kNoMapping, 0x14d, 0x260}, {kNoMapping, 0x2ed, 0x2f4},
};

TEST(IlMap, an_unmapped_stretch_right_after_the_prolog_is_at_il_offset_zero) {
  EXPECT_EQ(at(kToList, 0x6d), 0u);
  EXPECT_EQ(at(kToList, 0x90), 0u);
  EXPECT_EQ(at(kToList, 0xc5), 0u);
  EXPECT_EQ(at(kToList, 0xd1), 0x15u);
  EXPECT_EQ(at(kToList, 0x200), 0x40u);  // after the epilog: the nearest mapped entry before it
}

TEST(IlMap, a_funclets_prolog_stands_for_no_il_offset) {
  // System.Linq.Lookup`2.Create's tier-1 map, in part: a funclet whose prolog is at 0x248.
  const std::vector<COR_DEBUG_IL_TO_NATIVE_MAP> map = {
      {kProlog, 0x0, 0x4a}, {0x7, 0x22d, 0x248}, {kProlog, 0x248, 0x249}, {0x35, 0x249, 0x252}, {kNoMapping, 0x4a, 0xba}};
  EXPECT_EQ(at(map, 0x248), 0x7u);
  EXPECT_EQ(at(map, 0x249), 0x35u);
  EXPECT_EQ(at(map, 0xad), 0u);
}

TEST(IlMap, a_map_without_the_methods_prolog_or_a_mapped_entry_before_the_offset_has_no_il_offset) {
  const std::vector<COR_DEBUG_IL_TO_NATIVE_MAP> map = {{kNoMapping, 0x0, 0x20}, {kProlog, 0x20, 0x24}, {0x4, 0x24, 0x30}};
  uint32_t il = 0xDEAD;
  EXPECT_FALSE(il_offset_at(map.data(), map.size(), 0x18, &il));
  EXPECT_FALSE(il_offset_at(map.data(), map.size(), 0x22, &il));
  EXPECT_EQ(il, 0xDEADu);
  EXPECT_FALSE(il_offset_at(map.data(), 0, 0x18, &il));
  EXPECT_EQ(at(map, 0x24), 0x4u);
}
