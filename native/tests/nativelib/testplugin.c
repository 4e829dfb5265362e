/* Loaded by libmemnb_testnative.so with dlopen("libmemnb_testplugin.so") after recording
 * started; it sits in a plugins/ directory only that library's RUNPATH names. */
#include <stdint.h>
#include <stdlib.h>

static volatile uintptr_t sink;

__attribute__((visibility("default"), noinline)) int memnb_plugin_allocate(int count) {
  for (int i = 0; i < count; ++i) {
    void* p = malloc(4321);
    sink = (uintptr_t)p;
    free(p);
  }
  return count;
}
