#include <gtest/gtest.h>

#include <memory>

#include "stacks/frame_walker.h"
#include "stacks/module_map.h"

using namespace memnb;

namespace {

long g_offset_seen = -2;
int g_depth = 0;
uintptr_t g_ips[64];

__attribute__((noinline)) void probe() {
  g_offset_seen = native_frame_cfa_offset(reinterpret_cast<uintptr_t>(__builtin_return_address(0)));
  g_depth = walk_all(g_ips, 64, current_stack_bounds());
  asm volatile("" ::: "memory");
}

// Built without a frame pointer and with a fixed frame: the shape of the runtime's
// allocation stub.
__attribute__((noinline, optimize("omit-frame-pointer"))) int frameless_caller(int x) {
  volatile char pad[40];
  pad[0] = static_cast<char>(x);
  probe();
  return pad[0];
}

__attribute__((noinline)) int frame_pointer_caller(int x) {
  volatile int local = x;
  probe();
  return local;
}

}  // namespace

TEST(FrameWalker, classifies_a_frameless_function_with_its_frame_size) {
  module_map().refresh();
  frameless_caller(1);
  // At least its 40 bytes of locals plus the return address (sanitizer builds add
  // redzones, so only a loose upper bound).
  EXPECT_GT(g_offset_seen, 40);
  EXPECT_LT(g_offset_seen, 1024);
}

TEST(FrameWalker, classifies_a_frame_pointer_function_as_such) {
  module_map().refresh();
  frame_pointer_caller(1);
  EXPECT_EQ(g_offset_seen, 0);
}

TEST(FrameWalker, walks_every_frame_of_a_frame_pointer_chain_in_order) {
  frame_pointer_caller(2);
  ASSERT_GE(g_depth, 3);
  // Innermost first: the return into probe (walk_all's caller), then into its caller.
  uintptr_t probe_start = reinterpret_cast<uintptr_t>(&probe);
  uintptr_t caller = reinterpret_cast<uintptr_t>(&frame_pointer_caller);
  EXPECT_GT(g_ips[0], probe_start);
  EXPECT_LT(g_ips[0], probe_start + 256);
  EXPECT_GT(g_ips[1], caller);
  EXPECT_LT(g_ips[1], caller + 256);
}

TEST(FrameWalker, module_map_knows_native_code_and_rejects_anonymous_memory) {
  module_map().refresh();
  EXPECT_TRUE(module_map().is_native(reinterpret_cast<uintptr_t>(&probe)));
  auto heap = std::make_unique<int>(1);
  EXPECT_FALSE(module_map().is_native(reinterpret_cast<uintptr_t>(heap.get())));
}
