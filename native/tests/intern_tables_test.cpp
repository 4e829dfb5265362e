#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

#include "stacks/intern_tables.h"

using namespace memnb;

TEST(StackTable, same_edge_gets_the_same_id_and_different_edges_differ) {
  StackTable t;
  ASSERT_TRUE(t.init(1 << 10, 1 << 10));
  uint32_t a = t.intern(0, 0x1000);
  uint32_t b = t.intern(a, 0x2000);
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 2u);
  EXPECT_EQ(t.intern(0, 0x1000), a);
  EXPECT_EQ(t.intern(a, 0x2000), b);
  EXPECT_NE(t.intern(b, 0x2000), b);  // same ip, other parent
  EXPECT_EQ(t.node(b).parent, a);
  EXPECT_EQ(t.node(b).ip.load(), 0x2000u);
  EXPECT_EQ(t.count(), 3u);
  t.destroy();
}

TEST(StackTable, threads_interning_the_same_paths_agree_on_every_id) {
  StackTable t;
  ASSERT_TRUE(t.init(1 << 16, 1 << 16));
  constexpr int kThreads = 4, kPaths = 2000;
  std::vector<std::vector<uint32_t>> ids(kThreads, std::vector<uint32_t>(kPaths));
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      for (int p = 0; p < kPaths; ++p) {
        uint32_t root = t.intern(0, 0x100 + p % 10);
        ids[th][p] = t.intern(root, 0x9000 + p);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int th = 1; th < kThreads; ++th) EXPECT_EQ(ids[th], ids[0]);
  std::set<uint32_t> distinct(ids[0].begin(), ids[0].end());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kPaths));
  t.destroy();
}

TEST(StackTable, reports_overflow_instead_of_corrupting) {
  StackTable t;
  ASSERT_TRUE(t.init(16, 16));
  uint32_t last = 1;
  for (uint64_t ip = 1; ip < 100 && last != 0; ++ip) last = t.intern(0, ip);
  EXPECT_EQ(last, 0u);
  EXPECT_TRUE(t.overflowed());
  t.destroy();
}

TEST(TypeTable, hands_out_dense_indexes_once_per_class) {
  TypeTable t;
  ASSERT_TRUE(t.init(1 << 8, 1 << 8));
  EXPECT_EQ(t.intern(0xAAA0), 0);
  EXPECT_EQ(t.intern(0xBBB0), 1);
  EXPECT_EQ(t.intern(0xAAA0), 0);
  EXPECT_EQ(t.count(), 2u);
  EXPECT_EQ(t.class_id(1), 0xBBB0u);
  t.destroy();
}
