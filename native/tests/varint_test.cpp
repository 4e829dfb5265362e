#include <gtest/gtest.h>

#include "common/varint.h"

using namespace memnb;

TEST(Varint, round_trips_boundary_values) {
  const uint64_t values[] = {0, 1, 127, 128, 16383, 16384, 0xFFFFFFFFull, 0x7FFFFFFFFFFFFFFFull, ~0ull};
  for (uint64_t v : values) {
    uint8_t buf[kMaxVarintBytes];
    uint8_t* end = put_varint(buf, v);
    uint64_t back = 0;
    ASSERT_EQ(get_varint(buf, end, &back), end) << v;
    EXPECT_EQ(back, v);
  }
}

TEST(Varint, uses_one_byte_below_128_and_ten_for_the_largest) {
  uint8_t buf[kMaxVarintBytes];
  EXPECT_EQ(put_varint(buf, 127) - buf, 1);
  EXPECT_EQ(put_varint(buf, 128) - buf, 2);
  EXPECT_EQ(put_varint(buf, ~0ull) - buf, 10);
}

TEST(Varint, zigzag_maps_small_negatives_to_small_values) {
  EXPECT_EQ(zigzag(0), 0u);
  EXPECT_EQ(zigzag(-1), 1u);
  EXPECT_EQ(zigzag(1), 2u);
  EXPECT_EQ(zigzag(-2), 3u);
  for (int64_t v : {int64_t{0}, int64_t{-5}, int64_t{5}, INT64_MIN, INT64_MAX}) EXPECT_EQ(unzigzag(zigzag(v)), v);
}
