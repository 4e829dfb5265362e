/* Loaded by libmemnb_testnative.so with dlopen("libmemnb_testplugin.so") after recording
 * started; it sits in a plugins/ directory only that library's RUNPATH names. */
#include <stdint.h>
#include <stdlib.h>

/* Written by several threads: relaxed atomics keep the stores (and ThreadSanitizer quiet). */
static uintptr_t sink;
#define SINK(value) __atomic_store_n(&sink, (uintptr_t)(value), __ATOMIC_RELAXED)
#define SINK_ADD(value) __atomic_fetch_add(&sink, (uintptr_t)(value), __ATOMIC_RELAXED)

__attribute__((visibility("default"), noinline)) int memnb_plugin_allocate(int count) {
  for (int i = 0; i < count; ++i) {
    void* p = malloc(4321);
    SINK(p);
    free(p);
  }
  return count;
}
