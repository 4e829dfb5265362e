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

TEST(IlMap, a_map_of_only_special_entries_before_the_offset_has_no_il_offset) {
  const std::vector<COR_DEBUG_IL_TO_NATIVE_MAP> map = {{kProlog, 0x0, 0x10}, {kNoMapping, 0x10, 0x20}, {0x4, 0x20, 0x30}};
  uint32_t il = 0xDEAD;
  EXPECT_FALSE(il_offset_at(map.data(), map.size(), 0x18, &il));
  EXPECT_EQ(il, 0xDEADu);
  EXPECT_FALSE(il_offset_at(map.data(), 0, 0x18, &il));
  EXPECT_EQ(at(map, 0x0f), 0u);
  EXPECT_EQ(at(map, 0x20), 0x4u);
}
