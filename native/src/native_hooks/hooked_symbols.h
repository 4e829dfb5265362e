// The functions the tracer interposes on, written once. Each entry:
//   X(name, return type, (parameters), (argument names))
// Declarations of the originals, the hook table, patching, restoring and the tests all
// expand from this list.
#pragma once
#include <sys/types.h>
#include <cstddef>

#define MEMNB_HOOKED_SYMBOLS(X)                                                              \
  X(malloc, void*, (size_t size), (size))                                                    \
  X(calloc, void*, (size_t count, size_t size), (count, size))                               \
  X(realloc, void*, (void* ptr, size_t size), (ptr, size))                                   \
  X(free, void, (void* ptr), (ptr))                                                          \
  X(posix_memalign, int, (void** out, size_t alignment, size_t size), (out, alignment, size)) \
  X(aligned_alloc, void*, (size_t alignment, size_t size), (alignment, size))                \
  X(memalign, void*, (size_t alignment, size_t size), (alignment, size))                     \
  X(valloc, void*, (size_t size), (size))                                                    \
  X(pvalloc, void*, (size_t size), (size))                                                   \
  X(mmap, void*, (void* addr, size_t length, int prot, int flags, int fd, off_t offset),     \
    (addr, length, prot, flags, fd, offset))                                                 \
  X(mmap64, void*, (void* addr, size_t length, int prot, int flags, int fd, off_t offset),   \
    (addr, length, prot, flags, fd, offset))                                                 \
  X(munmap, int, (void* addr, size_t length), (addr, length))                                \
  X(dlopen, void*, (const char* file, int mode), (file, mode))                               \
  X(dlclose, int, (void* handle), (handle))

namespace memnb {

// Allocator kinds as NATIVE_ALLOC records carry them (docs/capture-format.md).
enum NativeAllocator : uint8_t {
  kAllocMalloc = 1,
  kAllocCalloc = 2,
  kAllocRealloc = 3,
  kAllocPosixMemalign = 4,
  kAllocAlignedAlloc = 5,
  kAllocMemalign = 6,
  kAllocValloc = 7,
  kAllocPvalloc = 8,
  kAllocMmap = 9,
};

// Release kinds of NATIVE_FREE records.
enum NativeRelease : uint8_t { kReleaseFree = 1, kReleaseMunmap = 2 };

}  // namespace memnb
