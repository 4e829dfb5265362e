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
