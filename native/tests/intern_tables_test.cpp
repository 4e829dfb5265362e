#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

#include "stacks/intern_tables.h"

using namespace memnb;

TEST(StackTable, same_edge_gets_the_same_id_and_different_edges_differ) {
  StackTable t;
  ASSERT_TRUE(t.init());
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
  ASSERT_TRUE(t.init());
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

TEST(StackTable, grows_past_millions_of_nodes_and_finds_every_edge_again) {
  // 3M distinct edges under 1,000 parents (3 segments' worth and more): no id is refused,
  // every edge keeps its id, and each node records its parent and ip.
  StackTable t;
  ASSERT_TRUE(t.init());
  constexpr uint32_t kParents = 1000, kChildren = 3000;
  std::vector<uint32_t> parents(kParents);
  for (uint32_t p = 0; p < kParents; ++p) parents[p] = t.intern(0, 0x10000 + p);
  std::vector<uint32_t> ids;
  ids.reserve(size_t{kParents} * kChildren);
  for (uint32_t c = 0; c < kChildren; ++c)
    for (uint32_t p = 0; p < kParents; ++p) ids.push_back(t.intern(parents[p], 0x900000 + c));
  EXPECT_EQ(t.count(), kParents + kParents * kChildren);
  EXPECT_FALSE(t.overflowed());
  EXPECT_GE(t.segments_reserved(), 12u);
  size_t at = 0;
  for (uint32_t c = 0; c < kChildren; ++c)
    for (uint32_t p = 0; p < kParents; ++p) {
      uint32_t id = ids[at++];
      ASSERT_NE(id, 0u);
      ASSERT_EQ(t.node(id).parent, parents[p]);
      ASSERT_EQ(t.node(id).ip.load(), 0x900000u + c);
    }
  StackCache cache{};
  EXPECT_EQ(t.intern(parents[7], 0x900000 + 2999, &cache), ids[size_t{2999} * kParents + 7]);
  EXPECT_EQ(t.intern(parents[7], 0x900000 + 2999, &cache), ids[size_t{2999} * kParents + 7]);  // from the cache
  EXPECT_EQ(t.intern(parents[8], 0x900000 + 2999, &cache), ids[size_t{2999} * kParents + 8]);
  t.destroy();
}

TEST(StackTable, threads_racing_to_add_children_of_one_node_agree) {
  StackTable t;
  ASSERT_TRUE(t.init());
  constexpr int kThreads = 4, kChildren = 5000;
  uint32_t hub = t.intern(0, 0x42);
  std::vector<std::vector<uint32_t>> ids(kThreads, std::vector<uint32_t>(kChildren));
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th)
    threads.emplace_back([&, th] {
      StackCache cache{};
      for (int c = 0; c < kChildren; ++c) ids[th][c] = t.intern(hub, 0x5000 + c, th % 2 ? &cache : nullptr);
    });
  for (auto& th : threads) th.join();
  for (int th = 1; th < kThreads; ++th) EXPECT_EQ(ids[th], ids[0]);
  // Every child has one id, under the hub, with its ip: 8 in the hub's list, the rest in the index.
  std::set<uint32_t> distinct(ids[0].begin(), ids[0].end());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kChildren));
  for (int c = 0; c < kChildren; ++c) {
    ASSERT_EQ(t.node(ids[0][c]).parent, hub);
    ASSERT_EQ(t.node(ids[0][c]).ip.load(), 0x5000u + c);
  }
  size_t listed = 0;
  for (uint32_t id = t.node(hub).first_child.load(); id != 0; id = t.node(id).next_sibling) ++listed;
  EXPECT_EQ(listed, StackTable::kListChildren);
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
