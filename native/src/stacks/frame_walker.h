// Walks the current thread's stack from inside a hook, without allocating or locking.
//
// Managed code (JIT and ReadyToRun) keeps RBP frame chains; so do libcoreclr and our own
// library. The one break is the runtime's allocation stub: it calls into the runtime
// without setting up a frame, so a plain RBP walk skips the method that allocated. For
// each return address in native code the walker knows (computed once with libunwind from
// the code's DWARF CFI, then cached) whether the function keeps a frame pointer or runs
// frameless with a fixed frame size; for a frameless one it reads the return address
// from its frame directly.
#pragma once
#include <cstddef>
#include <cstdint>

namespace memnb {

struct StackBounds {
  uintptr_t lo = 0;
  uintptr_t hi = 0;
};

// The calling thread's stack (reads pthread attributes; call once per thread).
StackBounds current_stack_bounds();

// What the walker learned about the native frames before the first managed one, for the
// calling thread's previous walk. Allocation after allocation the runtime's path to our
// hook is the same, so comparing return addresses replaces the lookups.
struct PrefixMemo {
  static constexpr int kMax = 16;
  int len = 0;
  uintptr_t ret[kMax];
  long action[kMax];  // -1 managed, 0 frame-pointer native, k > 0 frameless native
};

// Fills ips (innermost first) with the return addresses from the first managed frame
// outward, skipping the native frames between the caller and that frame (the runtime's
// allocation machinery). Returns the number of frames written (0 if none is managed).
int walk_from_first_managed(uintptr_t* ips, int max, const StackBounds& bounds, PrefixMemo* memo) __attribute__((noinline));

// Same walk without skipping: every frame from the caller outward (tests, native hooks).
int walk_all(uintptr_t* ips, int max, const StackBounds& bounds) __attribute__((noinline));

// How the function containing a native return address lays out its frame.
// Exposed for tests. Returns 0 for a frame-pointer frame, k > 0 for a frameless
// function whose canonical frame address is its stack pointer plus k, -1 if unknown.
long native_frame_cfa_offset(uintptr_t ret);

}  // namespace memnb
