/* A C library for the native allocation tests: noinline call chains and odd sizes,
 * P/Invoked by tests/TestTarget and called by the native gtests. Built without frame
 * pointers on purpose: stacks through it need the DWARF CFI. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define EXPORT __attribute__((visibility("default"), noinline))

/* Written by several threads: relaxed atomics keep the stores (and ThreadSanitizer quiet). */
static uintptr_t sink;
#define SINK(value) __atomic_store_n(&sink, (uintptr_t)(value), __ATOMIC_RELAXED)
#define SINK_ADD(value) __atomic_fetch_add(&sink, (uintptr_t)(value), __ATOMIC_RELAXED)

/* One of each allocator; everything freed. Returns the number of allocations made (10). */
EXPORT int memnb_test_leaf_allocators(void) {
  void* p[10];
  p[0] = malloc(123 * 8);
  p[1] = calloc(7, 13);
  p[2] = malloc(100);
  p[2] = realloc(p[2], 5000);
  if (posix_memalign(&p[3], 64, 777) != 0) p[3] = 0;
  p[4] = aligned_alloc(256, 512);
  p[5] = memalign(128, 999);
  p[6] = valloc(1234);
  p[7] = pvalloc(4097);
  p[8] = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  p[9] = mmap(0, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0); /* not memory */
  SINK(p[0]);
  for (int i = 0; i < 8; ++i) free(p[i]);
  /* Partial unmaps: middle page first, then both ends. */
  munmap((char*)p[8] + 4096, 4096);
  munmap(p[8], 4096);
  munmap((char*)p[8] + 8192, 4096);
  munmap(p[9], 1 << 20);
  return 10; /* recorded allocations: the PROT_NONE reservation is not one */
}

EXPORT void* memnb_test_chain_leaf(size_t size) {
  void* p = malloc(size); /* line marker: chain leaf malloc */
  SINK(p);
  return p;
}
EXPORT void* memnb_test_chain_middle(size_t size) {
  void* p = memnb_test_chain_leaf(size + 1);
  SINK_ADD(1);
  return p;
}
/* memnb_test_chain_outer -> memnb_test_chain_middle -> memnb_test_chain_leaf -> malloc(size + 1). */
EXPORT void* memnb_test_chain_outer(size_t size) {
  void* p = memnb_test_chain_middle(size);
  SINK_ADD(2);
  return p;
}

/* Always-inlined static functions, two deep: the return address of the malloc lies in
 * memnb_test_inlined_outer's code, in an inlined instance of inlined_alloc inside one of
 * inlined_middle (DWARF: nested DW_TAG_inlined_subroutine). */
static inline __attribute__((always_inline)) void* inlined_alloc(size_t size) {
  void* p = malloc(size + 2); /* line marker: inlined malloc */
  SINK(p);
  return p;
}
static inline __attribute__((always_inline)) void* inlined_middle(size_t size) {
  void* p = inlined_alloc(size); /* line marker: inlined middle call */
  SINK_ADD(4);
  return p;
}
/* memnb_test_inlined_outer -> [inlined_middle -> inlined_alloc, inlined] -> malloc(size + 2). */
EXPORT void* memnb_test_inlined_outer(size_t size) {
  void* p = inlined_middle(size); /* line marker: inlined call */
  SINK_ADD(3);
  return p;
}

EXPORT void memnb_test_free(void* p) { free(p); }

/* count mallocs of 333 bytes, kept alive (leaked). */
EXPORT void memnb_test_leak(int count) {
  for (int i = 0; i < count; ++i) SINK(malloc(333));
}

static void* thread_body(void* arg) {
  int count = (int)(intptr_t)arg;
  for (int i = 0; i < count; ++i) {
    void* p = memnb_test_chain_leaf(211);
    free(p);
  }
  return 0;
}

/* threads pthreads created in C, each making `count` malloc(212)/free pairs. */
EXPORT int memnb_test_threads(int threads, int count) {
  pthread_t ids[64];
  if (threads > 64) threads = 64;
  for (int i = 0; i < threads; ++i) pthread_create(&ids[i], 0, thread_body, (void*)(intptr_t)count);
  for (int i = 0; i < threads; ++i) pthread_join(ids[i], 0);
  return threads;
}

/* dlopen by bare name: found only through this library's RUNPATH ($ORIGIN/plugins). */
EXPORT int memnb_test_dlopen_plugin(int count) {
  void* handle = dlopen("libmemnb_testplugin.so", RTLD_NOW | RTLD_LOCAL);
  if (!handle) return -1;
  int (*allocate)(int) = (int (*)(int))dlsym(handle, "memnb_plugin_allocate");
  int made = allocate ? allocate(count) : -2;
  dlclose(handle);
  return made;
}

/* dlopen(RTLD_NOLOAD) of the plugin: 1 if it is loaded now, 0 if not (it is never loaded by this). */
EXPORT int memnb_test_plugin_loaded(void) {
  void* handle = dlopen("libmemnb_testplugin.so", RTLD_NOW | RTLD_NOLOAD);
  if (!handle) return 0;
  dlclose(handle);
  return 1;
}

/* The benchmark loop: count malloc/free pairs of mixed sizes. */
EXPORT uint64_t memnb_test_malloc_loop(uint64_t count) {
  static const size_t sizes[] = {16, 24, 40, 64, 100, 256, 1000, 4000};
  uint64_t total = 0;
  for (uint64_t i = 0; i < count; ++i) {
    void* p = malloc(sizes[i & 7]);
    SINK(p); /* the block escapes: the compiler may not elide the pair */
    total += (uintptr_t)p & 1;
    free(p);
  }
  return total;
}

/* For the signal-handler test: an async-signal-safe allocation (mmap and munmap of 5 pages). */
EXPORT int memnb_test_signal_safe_map(void) {
  void* p = mmap(NULL, 5 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 0;
  ((volatile char*)p)[0] = 1;
  munmap(p, 5 * 4096);
  return 1;
}
