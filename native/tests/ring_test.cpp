#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "common/spsc_ring.h"

using namespace memnb;

TEST(SpscRing, wraps_records_around_the_end_intact) {
  SpscRing ring;
  ASSERT_TRUE(ring.init(4096));
  std::vector<uint8_t> record(1000);
  std::vector<uint8_t> out;
  for (int round = 0; round < 20; ++round) {
    for (size_t i = 0; i < record.size(); ++i) record[i] = static_cast<uint8_t>(round * 7 + i);
    ASSERT_GE(ring.free_space(), record.size());
    ring.push(record.data(), record.size());
    uint64_t upto = ring.published();
    out.resize(upto - ring.consumed());
    ring.copy_out(upto, out.data());
    ring.release(upto);
    ASSERT_EQ(out, record) << "round " << round;
  }
  ring.destroy();
}

TEST(SpscRing, records_encoded_in_place_are_published_with_their_length_and_never_across_the_end) {
  SpscRing ring;
  ASSERT_TRUE(ring.init(64));
  // 40 bytes pushed and consumed: the head is at 40, 24 bytes before the end.
  std::vector<uint8_t> filler(40, 0xEE), out(40);
  ring.push(filler.data(), filler.size());
  ring.copy_out(ring.published(), out.data());
  ring.release(ring.published());
  // 24 bytes fit before the end, 25 do not (the caller then pushes through a buffer).
  EXPECT_EQ(ring.contiguous(25), nullptr);
  uint8_t* at = ring.contiguous(24);
  ASSERT_NE(at, nullptr);
  for (int i = 0; i < 24; ++i) at[i] = static_cast<uint8_t>(0xA0 + i);  // 24 written, 5 published
  ring.publish(5);
  EXPECT_EQ(ring.published(), 45u);
  EXPECT_EQ(ring.free_space(), 59u);
  out.resize(5);
  ring.copy_out(ring.published(), out.data());
  ring.release(ring.published());
  EXPECT_EQ(out, (std::vector<uint8_t>{0xA0, 0xA1, 0xA2, 0xA3, 0xA4}));
  // The next record starts right after the published length, over the unpublished bytes.
  at = ring.contiguous(19);
  ASSERT_NE(at, nullptr);
  at[0] = 0x11;
  ring.publish(1);
  out.resize(1);
  ring.copy_out(ring.published(), out.data());
  EXPECT_EQ(out[0], 0x11);
  ring.destroy();
}

TEST(SpscRing, consumer_thread_sees_every_byte_in_order) {
  SpscRing ring;
  ASSERT_TRUE(ring.init(1 << 12));
  constexpr uint32_t kCount = 200000;
  std::thread producer([&] {
    for (uint32_t i = 0; i < kCount; ++i) {
      while (ring.free_space() < sizeof i) std::this_thread::yield();
      ring.push(reinterpret_cast<const uint8_t*>(&i), sizeof i);
    }
  });
  uint32_t expected = 0;
  std::vector<uint8_t> buf;
  while (expected < kCount) {
    uint64_t upto = ring.published();
    size_t len = upto - ring.consumed();
    if (len < sizeof(uint32_t)) continue;
    len -= len % sizeof(uint32_t);
    upto = ring.consumed() + len;
    buf.resize(len);
    ring.copy_out(upto, buf.data());
    ring.release(upto);
    for (size_t at = 0; at < len; at += 4) {
      uint32_t v;
      memcpy(&v, buf.data() + at, 4);
      ASSERT_EQ(v, expected++);
    }
  }
  producer.join();
  ring.destroy();
}
