#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <string>

#include <gtest/gtest.h>

#include "native_hooks/got_patcher.h"
#include "native_hooks/hooked_symbols.h"

using namespace memnb;

namespace {

void* test_library() {
  static void* handle = dlopen(MEMNB_TESTNATIVE_PATH, RTLD_NOW);
  return handle;
}

struct ObjectInfo {
  const char* name_part;
  uintptr_t base = 0;
  const void* dynamic = nullptr;
};

ObjectInfo find_object(const char* name_part) {
  ObjectInfo info{name_part};
  dl_iterate_phdr(
      [](dl_phdr_info* object, size_t, void* data) {
        auto* out = static_cast<ObjectInfo*>(data);
        if (!object->dlpi_name || !strstr(object->dlpi_name, out->name_part)) return 0;
        for (int i = 0; i < object->dlpi_phnum; ++i)
          if (object->dlpi_phdr[i].p_type == PT_DYNAMIC)
            out->dynamic = reinterpret_cast<const void*>(object->dlpi_addr + object->dlpi_phdr[i].p_vaddr);
        out->base = object->dlpi_addr;
        return 1;
      },
      &info);
  return info;
}

thread_local bool t_counting = false;
std::atomic<int> g_counted{0};

void* counting_malloc(size_t size) {
  if (size == 12346 && !t_counting) g_counted.fetch_add(1);
  return malloc(size);
}

}  // namespace

TEST(GotPatcher, finds_the_malloc_and_free_slots_of_a_loaded_library) {
  ASSERT_NE(test_library(), nullptr) << dlerror();
  ObjectInfo lib = find_object("libmemnb_testnative");
  ASSERT_NE(lib.dynamic, nullptr);
  uintptr_t slots[8];
  size_t n = find_relocation_slots(lib.base, lib.dynamic, "malloc", slots, 8);
  ASSERT_GE(n, 1u);
  // Bound (BIND_NOW or resolved by now): the slot holds the real malloc.
  EXPECT_EQ(*reinterpret_cast<void**>(slots[0]), reinterpret_cast<void*>(&malloc));
  EXPECT_GE(find_relocation_slots(lib.base, lib.dynamic, "free", slots, 8), 1u);
  EXPECT_EQ(find_relocation_slots(lib.base, lib.dynamic, "no_such_symbol", slots, 8), 0u);
}

TEST(GotPatcher, patching_redirects_calls_and_restoring_puts_the_original_back) {
  ASSERT_NE(test_library(), nullptr) << dlerror();
  auto leaf = reinterpret_cast<void* (*)(size_t)>(dlsym(test_library(), "memnb_test_chain_leaf"));
  ASSERT_NE(leaf, nullptr);
  ObjectInfo lib = find_object("libmemnb_testnative");
  uintptr_t slot = 0;
  ASSERT_EQ(find_relocation_slots(lib.base, lib.dynamic, "malloc", &slot, 1), 1u);

  GotPatcher patcher;
  PatchTarget target{"malloc", reinterpret_cast<void*>(&counting_malloc)};
  g_counted = 0;
  EXPECT_GE(patcher.patch_all(&target, 1), 1u);
  EXPECT_EQ(*reinterpret_cast<void**>(slot), reinterpret_cast<void*>(&counting_malloc));
  // Patching twice writes nothing new.
  EXPECT_EQ(patcher.patch_all(&target, 1), 0u);
  free(leaf(12346));
  free(leaf(12346));
  EXPECT_EQ(g_counted.load(), 2);

  EXPECT_GE(patcher.restore_all(&target, 1), 1u);
  EXPECT_EQ(*reinterpret_cast<void**>(slot), reinterpret_cast<void*>(&malloc));
  free(leaf(12346));
  EXPECT_EQ(g_counted.load(), 2);
  // A dlopen racing with the stop: patching new objects after restore_all writes nothing.
  EXPECT_EQ(patcher.patch_new(&target, 1), 0u);
  EXPECT_EQ(*reinterpret_cast<void**>(slot), reinterpret_cast<void*>(&malloc));
}

TEST(GotPatcher, relro_slots_are_read_only_again_after_patching) {
  ASSERT_NE(test_library(), nullptr) << dlerror();
  ObjectInfo lib = find_object("libmemnb_testnative");
  uintptr_t slot = 0;
  ASSERT_EQ(find_relocation_slots(lib.base, lib.dynamic, "free", &slot, 1), 1u);
  GotPatcher patcher;
  PatchTarget target{"free", reinterpret_cast<void*>(&free)};
  patcher.patch_all(&target, 1);  // already the value: nothing written, nothing changed
  // Find the mapping holding the slot in /proc/self/maps and check its permissions.
  FILE* maps = fopen("/proc/self/maps", "r");
  ASSERT_NE(maps, nullptr);
  char line[512];
  std::string perms;
  while (fgets(line, sizeof line, maps)) {
    unsigned long lo, hi;
    char p[5] = {};
    if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && slot >= lo && slot < hi) perms = p;
  }
  fclose(maps);
  ASSERT_FALSE(perms.empty());
  EXPECT_EQ(perms[1], '-') << "slot page is " << perms;  // BIND_NOW + RELRO by default here

  PatchTarget other{"free", reinterpret_cast<void*>(&counting_malloc)};
  EXPECT_GE(patcher.patch_all(&other, 1), 1u);
  EXPECT_GE(patcher.restore_all(&other, 1), 1u);
  EXPECT_EQ(*reinterpret_cast<void**>(slot), reinterpret_cast<void*>(&free));
}

TEST(HookedSymbols, the_list_names_every_allocator_once) {
  const char* names[] = {
#define MEMNB_NAME(name, ret, params, args) #name,
      MEMNB_HOOKED_SYMBOLS(MEMNB_NAME)
#undef MEMNB_NAME
  };
  std::string all;
  for (const char* n : names) all += std::string(n) + ",";
  EXPECT_EQ(all, "malloc,calloc,realloc,free,posix_memalign,aligned_alloc,memalign,valloc,pvalloc,mmap,mmap64,munmap,dlopen,dlclose,");
}
