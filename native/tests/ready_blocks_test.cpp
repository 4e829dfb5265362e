#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "common/ready_blocks.h"

using namespace memnb;

namespace {
// Pages of [p, p + bytes) resident now (mincore), without touching them.
size_t resident_pages(void* p, size_t bytes) {
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in((bytes + page - 1) / page);
  if (mincore(p, bytes, in.data()) != 0) return 0;
  size_t n = 0;
  for (unsigned char c : in) n += c & 1;
  return n;
}
}  // namespace

TEST(ReadyBlocks, are_made_only_after_the_owner_asks_and_come_committed_and_zeroed) {
  constexpr size_t kBytes = 256 * 1024;
  ReadyBlocks<2> ready(kBytes);
  ready.refill();
  EXPECT_EQ(ready.ready(), 0);  // nobody asked
  EXPECT_EQ(ready.take(), nullptr);  // none yet, but that asks
  ready.refill();
  EXPECT_EQ(ready.ready(), 2);
  void* block = ready.take();
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(ready.ready(), 1);
  EXPECT_EQ(resident_pages(block, kBytes), kBytes / static_cast<size_t>(sysconf(_SC_PAGESIZE)));
  const auto* bytes = static_cast<const unsigned char*>(block);
  size_t nonzero = 0;
  for (size_t i = 0; i < kBytes; ++i) nonzero += bytes[i] != 0;
  EXPECT_EQ(nonzero, 0u);
  munmap(block, kBytes);
  ready.refill();  // the take asked for one more
  EXPECT_EQ(ready.ready(), 2);
  ready.refill();  // not asked since
  EXPECT_EQ(ready.ready(), 2);
  ready.release();
  EXPECT_EQ(ready.ready(), 0);
}
