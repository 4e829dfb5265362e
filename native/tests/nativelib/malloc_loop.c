/* The native benchmark loop as a plain program (untraced and under heaptrack): prints
 * {"loop_ms": ...} for memnb_test_malloc_loop(N) of libmemnb_testnative.so. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

uint64_t memnb_test_malloc_loop(uint64_t count);

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char** argv) {
  uint64_t pairs = argc > 1 ? strtoull(argv[1], 0, 10) : 10000000;
  memnb_test_malloc_loop(pairs / 10); /* warm-up, as the .NET runs do */
  double start = now_ms();
  uint64_t sink = memnb_test_malloc_loop(pairs);
  double loop = now_ms() - start;
  printf("{\"loop_ms\": %.3f, \"sink\": %llu}\n", loop, (unsigned long long)sink);
  return 0;
}
