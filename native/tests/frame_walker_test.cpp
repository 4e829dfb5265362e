#include <gtest/gtest.h>

#include <sys/mman.h>

#include <cstring>
#include <memory>
#include <vector>

#include "common/address_table.h"
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

namespace {

// Code outside every ELF module stands in for JIT-compiled code: a trampoline that
// keeps a frame pointer and calls the function in rdi, with the argument in rsi.
using Trampoline = void (*)(void (*)(void*), void*);

Trampoline make_trampoline() {
  static const uint8_t code[] = {
      0x55,              // push rbp
      0x48, 0x89, 0xe5,  // mov rbp, rsp
      0x48, 0x89, 0xf8,  // mov rax, rdi
      0x48, 0x89, 0xf7,  // mov rdi, rsi
      0xff, 0xd0,        // call rax
      0x5d,              // pop rbp
      0xc3,              // ret
  };
  void* mem = mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return nullptr;
  memcpy(mem, code, sizeof code);
  return reinterpret_cast<Trampoline>(mem);
}

struct WalkResult {
  int depth;
  uintptr_t ips[16];
};

struct WalkContext {
  Trampoline inner;
  PrefixMemo memo;
  ThreadBase base;
  WalkResult result;
};

__attribute__((noinline)) void walking_probe(void* arg) {
  auto* ctx = static_cast<WalkContext*>(arg);
  ctx->result.depth = walk_from_first_managed(ctx->result.ips, 16, current_stack_bounds(), &ctx->memo, &ctx->base);
  asm volatile("" ::: "memory");
}

// Native code between two "managed" frames.
__attribute__((noinline)) void native_middle(void* arg) {
  auto* ctx = static_cast<WalkContext*>(arg);
  ctx->inner(&walking_probe, arg);
  asm volatile("" ::: "memory");
}

}  // namespace

TEST(FrameWalker, keeps_native_frames_between_managed_ones_and_drops_the_thread_start) {
  module_map().refresh();
  Trampoline outer = make_trampoline();
  Trampoline inner = make_trampoline();
  ASSERT_TRUE(outer && inner);
  WalkContext ctx{};
  ctx.inner = inner;
  outer(&native_middle, &ctx);
  // inner trampoline, native_middle, outer trampoline; the test's own frames beyond the
  // outermost "managed" frame are the thread's start and are dropped.
  ASSERT_EQ(ctx.result.depth, 3);
  uintptr_t middle = reinterpret_cast<uintptr_t>(&native_middle);
  EXPECT_GE(ctx.result.ips[0], reinterpret_cast<uintptr_t>(inner));
  EXPECT_LT(ctx.result.ips[0], reinterpret_cast<uintptr_t>(inner) + 16);
  EXPECT_GT(ctx.result.ips[1], middle);
  EXPECT_LT(ctx.result.ips[1], middle + 128);
  EXPECT_GE(ctx.result.ips[2], reinterpret_cast<uintptr_t>(outer));
  EXPECT_LT(ctx.result.ips[2], reinterpret_cast<uintptr_t>(outer) + 16);
  EXPECT_EQ(ctx.base.ret, ctx.result.ips[2]);

  // The same path again stops at the remembered base and gives the same stack.
  WalkResult first = ctx.result;
  ctx.result = WalkResult{};
  outer(&native_middle, &ctx);
  ASSERT_EQ(ctx.result.depth, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ctx.result.ips[i], first.ips[i]);
}

TEST(AddressTable, keeps_the_first_value_of_a_key_and_nothing_past_a_full_neighbourhood) {
  static AddressTable<64, 4> table;  // static: 1 KiB of atomics
  EXPECT_EQ(table.find(0x1000), 0u);
  table.insert(0x1000, 7);
  table.insert(0x1000, 9);  // the first value stays
  EXPECT_EQ(table.find(0x1000), 7u);

  // Five keys of one home slot in an empty table: four fill its neighbourhood, the fifth is not kept.
  static AddressTable<64, 4> crowded;
  auto home = [](uint64_t key) { return (key * 0x9E3779B97F4A7C15ull >> 40) & 63; };
  std::vector<uint64_t> same_home;
  for (uint64_t key = 0x2000; same_home.size() < 5; key += 8)
    if (home(key) == home(0x2000)) same_home.push_back(key);
  for (uint64_t i = 0; i < 5; ++i) crowded.insert(same_home[i], 100 + i);
  for (uint64_t i = 0; i < 4; ++i) EXPECT_EQ(crowded.find(same_home[i]), 100 + i);
  EXPECT_EQ(crowded.find(same_home[4]), 0u);
}

// A synthetic stack: the optimized frame's record at words[0..1], tier-0 locals, the tier-0
// record (the caller's frame pointer, the caller's return address), the caller's record.
TEST(FrameWalker, osr_memo_answers_as_the_scan_and_follows_the_slot_it_remembered) {
  alignas(16) uintptr_t words[16] = {};
  const uintptr_t fp = reinterpret_cast<uintptr_t>(&words[0]);
  const uintptr_t next = reinterpret_cast<uintptr_t>(&words[12]);
  const uintptr_t hi = reinterpret_cast<uintptr_t>(&words[16]);
  const uintptr_t site = 0x7000'1234, caller_ret = 0x7000'5678;
  words[0] = next;
  words[1] = site;
  words[2] = 11;
  words[3] = 22;
  words[8] = next;  // the tier-0 record
  words[9] = caller_ret;
  OsrMemo memo;
  EXPECT_EQ(osr_caller_return(fp, next, site, hi), caller_ret);
  EXPECT_EQ(osr_caller_return_memo(&memo, fp, next, site, hi), caller_ret);
  EXPECT_EQ(memo.slot, reinterpret_cast<uintptr_t>(&words[8]));
  // The same frame again: the return address is read from the remembered slot, as it is now.
  words[9] = caller_ret + 8;
  EXPECT_EQ(osr_caller_return_memo(&memo, fp, next, site, hi), caller_ret + 8);
  // The slot no longer holds the record: scanned again, the record found further out.
  words[8] = 0;
  words[10] = next;
  words[11] = caller_ret + 16;
  EXPECT_EQ(osr_caller_return_memo(&memo, fp, next, site, hi), caller_ret + 16);
  EXPECT_EQ(memo.slot, reinterpret_cast<uintptr_t>(&words[10]));
  // No record at all: the site's own return address, and nothing remembered.
  words[10] = 0;
  EXPECT_EQ(osr_caller_return_memo(&memo, fp, next, site, hi), site);
  EXPECT_EQ(memo.slot, 0u);
  EXPECT_EQ(osr_caller_return_memo(&memo, fp, next, site, hi), site);
  // Another frame (another record) is scanned, not answered from the memo.
  words[4] = next;
  words[5] = caller_ret + 24;
  EXPECT_EQ(osr_caller_return_memo(&memo, fp, next, site, hi), caller_ret + 24);
  const uintptr_t fp2 = reinterpret_cast<uintptr_t>(&words[2]);
  words[4] = 0;
  words[6] = next;
  words[7] = caller_ret + 32;
  EXPECT_EQ(osr_caller_return_memo(&memo, fp2, next, site, hi), caller_ret + 32);
  EXPECT_EQ(memo.slot, reinterpret_cast<uintptr_t>(&words[6]));
}
