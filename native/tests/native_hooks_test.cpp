// The native hooks end to end: a recording with the "native" option, the C test library
// called between start and stop, the capture decoded.
#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pthread.h>
#include <signal.h>
#include <cerrno>

#include <atomic>
#include <map>
#include <thread>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "capture_decoder.h"
#include "native_hooks/hook_guard.h"
#include "native_hooks/hooked_symbols.h"
#include "native_hooks/native_hooks.h"
#include "profiler/recorder.h"

using namespace memnb;

namespace {

struct NoSymbols : SymbolSource {
  std::string type_name(uint64_t) override { return {}; }
  FrameDescription describe_frame(uint64_t) override { return {}; }
};

void* test_library() {
  static void* handle = dlopen(MEMNB_TESTNATIVE_PATH, RTLD_NOW);
  return handle;
}

template <typename F>
F function(const char* name) {
  return reinterpret_cast<F>(dlsym(test_library(), name));
}

std::string temp_path(const char* name) {
  return std::string("/tmp/memnb-native-hooks-") + std::to_string(getpid()) + "-" + name;
}

std::string symbol_of(uint64_t ip) {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(ip - 1), &info) && info.dli_sname) return info.dli_sname;
  return {};
}

// The function names of a stack, innermost first.
std::vector<std::string> stack_names(const DecodedCapture& c, uint64_t stack) {
  std::vector<std::string> out;
  for (int depth = 0; stack != 0 && depth < 1024; ++depth) {
    auto it = c.nodes.find(stack);
    if (it == c.nodes.end()) break;
    out.push_back(symbol_of(it->second.second));
    stack = it->second.first;
  }
  return out;
}

bool stack_contains(const DecodedCapture& c, uint64_t stack, const std::string& name) {
  for (const std::string& n : stack_names(c, stack))
    if (n == name) return true;
  return false;
}

// Records `body` with native tracking; returns the decoded capture.
template <typename Body>
DecodedCapture record(const char* name, Body body) {
  NoSymbols symbols;
  RecorderOptions options;
  options.native = true;
  std::string error;
  std::string path = temp_path(name);
  Recorder& rec = recorder();
  EXPECT_TRUE(rec.start(path.c_str(), options, &symbols, &error)) << error;
  body();
  EXPECT_TRUE(rec.stop(&error)) << error;
  DecodedCapture c = decode_capture(path);
  unlink(path.c_str());
  return c;
}

}  // namespace

TEST(NativeHooks, every_allocator_is_recorded_once_with_its_exact_size) {
  ASSERT_NE(test_library(), nullptr) << dlerror();
  auto leaf = function<int (*)()>("memnb_test_leaf_allocators");
  DecodedCapture c = record("allocators.memnb", [&] { EXPECT_EQ(leaf(), 10); });
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(c.flags & 2, 2);
  std::multiset<std::pair<int, uint64_t>> allocs;  // (allocator, size)
  std::set<uint64_t> alloc_addresses;
  for (const auto& e : c.native)
    if (e.alloc && stack_contains(c, e.stack, "memnb_test_leaf_allocators")) {
      allocs.insert({e.kind, e.size});
      alloc_addresses.insert(e.address);
    }
  std::multiset<std::pair<int, uint64_t>> expected = {
      {kAllocMalloc, 984},         {kAllocCalloc, 91},      {kAllocMalloc, 100},  {kAllocRealloc, 5000},
      {kAllocPosixMemalign, 777},  {kAllocAlignedAlloc, 512}, {kAllocMemalign, 999}, {kAllocValloc, 1234},
      {kAllocPvalloc, 4097},       {kAllocMmap, 3 * 4096},
  };
  EXPECT_EQ(allocs, expected);
  // Every free names one of those blocks (9: eight free() and the realloc's), every munmap a page.
  int frees = 0, unmaps = 0;
  uint64_t unmapped = 0;
  for (const auto& e : c.native) {
    if (e.alloc) continue;
    if (e.kind == kReleaseFree && alloc_addresses.count(e.address)) ++frees;
    if (e.kind == kReleaseMunmap && e.size == 4096) {
      ++unmaps;
      unmapped += e.size;
    }
  }
  EXPECT_EQ(frees, 9);
  EXPECT_EQ(unmaps, 3);
  EXPECT_EQ(unmapped, 3u * 4096);
}

TEST(NativeHooks, a_free_is_recorded_before_the_block_can_be_reused) {
  ASSERT_NE(test_library(), nullptr) << dlerror();
  auto outer = function<void* (*)(size_t)>("memnb_test_chain_outer");
  auto release = function<void (*)(void*)>("memnb_test_free");
  DecodedCapture c = record("reuse.memnb", [&] {
    for (int i = 0; i < 1000; ++i) release(outer(4000));
  });
  ASSERT_TRUE(c.ok) << c.error;
  // Per address, events alternate alloc, free, alloc, free... in time order.
  std::map<uint64_t, bool> live;
  int allocs = 0;
  for (const auto& e : c.native) {
    if (e.alloc && e.size == 4001) {
      EXPECT_FALSE(live[e.address]);
      live[e.address] = true;
      ++allocs;
    } else if (!e.alloc && live.count(e.address)) {
      EXPECT_TRUE(live[e.address]);
      live[e.address] = false;
    }
  }
  EXPECT_EQ(allocs, 1000);
  // The first walk learns the unwind rules with libunwind; the next 999 use the cached rules
  // and must find the very same stack.
  std::set<uint64_t> stacks;
  for (const auto& e : c.native)
    if (e.alloc && e.size == 4001) stacks.insert(e.stack);
  ASSERT_EQ(stacks.size(), 1u);
  std::vector<std::string> names = stack_names(c, *stacks.begin());
  ASSERT_GE(names.size(), 3u);
  EXPECT_EQ(names[0], "memnb_test_chain_leaf");
  EXPECT_EQ(names[1], "memnb_test_chain_middle");
  EXPECT_EQ(names[2], "memnb_test_chain_outer");
}

TEST(NativeHooks, stacks_through_code_without_frame_pointers_name_every_c_function_in_order) {
  ASSERT_NE(test_library(), nullptr) << dlerror();
  auto outer = function<void* (*)(size_t)>("memnb_test_chain_outer");
  void* kept = nullptr;
  DecodedCapture c = record("chain.memnb", [&] { kept = outer(1233); });
  free(kept);
  ASSERT_TRUE(c.ok) << c.error;
  int found = 0;
  for (const auto& e : c.native) {
    if (!e.alloc || e.size != 1234) continue;
    ++found;
    std::vector<std::string> names = stack_names(c, e.stack);
    ASSERT_GE(names.size(), 4u);
    EXPECT_EQ(names[0], "memnb_test_chain_leaf");
    EXPECT_EQ(names[1], "memnb_test_chain_middle");
    EXPECT_EQ(names[2], "memnb_test_chain_outer");
    EXPECT_EQ(names[3].find("NativeHooks"), std::string::npos) << "the tracer's own frames are not in the stack";
  }
  EXPECT_EQ(found, 1);
}

TEST(NativeHooks, threads_created_in_c_while_recording_are_recorded) {
  ASSERT_NE(test_library(), nullptr) << dlerror();
  auto threads = function<int (*)(int, int)>("memnb_test_threads");
  DecodedCapture c = record("threads.memnb", [&] { EXPECT_EQ(threads(4, 1000), 4); });
  ASSERT_TRUE(c.ok) << c.error;
  std::map<uint32_t, int> per_stream;
  for (const auto& e : c.native)
    if (e.alloc && e.size == 211) per_stream[e.stream]++;
  ASSERT_EQ(per_stream.size(), 4u);
  for (const auto& [stream, count] : per_stream) EXPECT_EQ(count, 1000) << "stream " << stream;
}

TEST(NativeHooks, a_library_dlopened_after_start_is_patched_and_found_through_the_callers_runpath) {
  ASSERT_NE(test_library(), nullptr) << dlerror();
  auto load = function<int (*)(int)>("memnb_test_dlopen_plugin");
  // Without the hook (the caller's RUNPATH applies): the baseline. AddressSanitizer's own
  // dlopen interceptor makes itself the caller, so the RUNPATH is lost before we come in.
  if (load(1) != 1) GTEST_SKIP() << "dlopen does not honour the caller's RUNPATH in this build (sanitizer interceptor)";
  auto loaded = function<int (*)()>("memnb_test_plugin_loaded");
  DecodedCapture c = record("dlopen.memnb", [&] {
    EXPECT_EQ(loaded(), 0) << "RTLD_NOLOAD must not load through the caller's RUNPATH";
    EXPECT_EQ(load(50), 50);
    EXPECT_EQ(loaded(), 0) << "closed again";
  });
  ASSERT_TRUE(c.ok) << c.error;
  int plugin_allocs = 0;
  for (const auto& e : c.native)
    if (e.alloc && e.size == 4321) ++plugin_allocs;
  EXPECT_EQ(plugin_allocs, 50);
  bool module_seen = false;
  for (const std::string& m : c.modules) module_seen |= m.find("libmemnb_testplugin.so") != std::string::npos;
  EXPECT_TRUE(module_seen);
}

TEST(NativeHooks, a_thread_whose_first_allocation_is_inside_pthread_getattr_np_does_not_deadlock) {
  // Regression: pthread_getattr_np holds the thread's lock while it calls realloc; the hook
  // set the new thread up with pthread_getattr_np and waited for that lock forever.
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer builds leave libc unpatched (see got_patcher.cpp)";
#endif
  std::atomic<bool> done{false};
  DecodedCapture c = record("getattr.memnb", [&] {
    std::thread t([&] {
      pthread_attr_t attr;
      if (pthread_getattr_np(pthread_self(), &attr) == 0) pthread_attr_destroy(&attr);
      done = true;
    });
    for (int i = 0; i < 500 && !done; ++i) usleep(10000);
    ASSERT_TRUE(done.load()) << "the thread is stuck in pthread_getattr_np";
    t.join();
  });
  ASSERT_TRUE(c.ok) << c.error;
}

TEST(NativeHooks, start_and_stop_a_hundred_times_restores_every_slot) {
  ASSERT_NE(test_library(), nullptr) << dlerror();
  auto outer = function<void* (*)(size_t)>("memnb_test_chain_outer");
  for (int i = 0; i < 100; ++i) {
    DecodedCapture c = record("cycles.memnb", [&] { free(outer(77)); });
    ASSERT_TRUE(c.ok) << c.error;
    int n = 0;
    for (const auto& e : c.native) n += e.alloc && e.size == 78;
    ASSERT_EQ(n, 1) << "cycle " << i;
    ASSERT_FALSE(native_hooks_installed());
  }
  // Back to the real functions: no slot of the test library points at a hook.
  void* hook = native_hook_address("malloc");
  ASSERT_NE(hook, nullptr);
  struct Found {
    void* hook;
    bool patched = false;
  } found{hook};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* f = static_cast<Found*>(data);
        if (!info->dlpi_name || !strstr(info->dlpi_name, "libmemnb_testnative")) return 0;
        // The GOT holds only pointers: scan the RELRO segment for the hook's address.
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_GNU_RELRO) continue;
          auto* at = reinterpret_cast<void* const*>(info->dlpi_addr + ph.p_vaddr);
          for (size_t k = 0; k < ph.p_memsz / sizeof(void*); ++k) f->patched |= at[k] == f->hook;
        }
        return 0;
      },
      &found);
  EXPECT_FALSE(found.patched);
}

namespace {
std::atomic<int> g_handled{0};
std::atomic<int> g_handled_outside_hooks{0};
int (*g_signal_map)() = nullptr;
void map_in_handler(int) {
  int saved = errno;
  bool outside = t_hook_guard == 0;  // read before the handler's own hooked calls take the guard
  if (g_signal_map && g_signal_map()) {
    g_handled.fetch_add(1, std::memory_order_relaxed);
    if (outside) g_handled_outside_hooks.fetch_add(1, std::memory_order_relaxed);
  }
  errno = saved;
}
}  // namespace

// A signal handler that allocates (mmap, async-signal-safe) lands anywhere in the recorded thread,
// inside our malloc hook included: nothing deadlocks, every malloc of the interrupted loop is still
// recorded exactly once, and the handler's mappings are recorded exactly when the signal came
// outside a hook (alloc and unmap both); inside one, the guard keeps the nested calls out.
TEST(NativeHooks, a_signal_handler_allocating_inside_a_hooked_call_neither_deadlocks_nor_corrupts_the_capture) {
  ASSERT_NE(test_library(), nullptr) << dlerror();
  auto loop = function<uint64_t (*)(uint64_t)>("memnb_test_malloc_loop");
  g_signal_map = function<int (*)()>("memnb_test_signal_safe_map");
  ASSERT_NE(g_signal_map, nullptr);
  struct sigaction action {}, previous {};
  action.sa_handler = map_in_handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ASSERT_EQ(sigaction(SIGUSR1, &action, &previous), 0);
  g_handled = 0;
  g_handled_outside_hooks = 0;
  constexpr uint64_t kPairs = 100000;
  pthread_t target = pthread_self();
  std::atomic<bool> done{false};
  DecodedCapture c = record("signals.memnb", [&] {
    std::thread sender([&] {
      while (!done.load()) {
        pthread_kill(target, SIGUSR1);
        usleep(200);
      }
    });
    loop(kPairs);
    // Then signals that surely land outside any hook: the thread waits in usleep (not hooked).
    for (int i = 0; i < 100; ++i) usleep(1000);
    done = true;
    sender.join();
  });
  sigaction(SIGUSR1, &previous, nullptr);
  ASSERT_TRUE(c.ok) << c.error;
  ASSERT_GT(g_handled_outside_hooks.load(), 0);
  uint64_t loop_mallocs = 0, maps = 0, unmaps = 0;
  for (const auto& e : c.native) {
    if (e.alloc && e.kind == kAllocMalloc && stack_contains(c, e.stack, "memnb_test_malloc_loop")) ++loop_mallocs;
    if (e.alloc && e.kind == kAllocMmap && e.size == 5 * 4096) ++maps;
    if (!e.alloc && e.kind == kReleaseMunmap && e.size == 5 * 4096) ++unmaps;
  }
  EXPECT_EQ(loop_mallocs, kPairs);
  EXPECT_EQ(maps, static_cast<uint64_t>(g_handled_outside_hooks.load()));
  EXPECT_EQ(unmaps, maps);
}
