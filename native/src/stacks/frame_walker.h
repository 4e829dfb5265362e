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

// The calling thread's stack mapping (reads /proc/self/maps; call once per thread).
// Safe inside an allocation hook: no lock, no allocation.
StackBounds current_stack_bounds();

// What the walker learned about the native frames before the first managed one, for the
// calling thread's previous walk. Allocation after allocation the runtime's path to our
// hook is the same, so comparing return addresses replaces the lookups.
struct PrefixMemo {
  static constexpr int kMax = 16;
  int len = 0;
  uintptr_t ret[kMax];
  long action[kMax];  // -1 managed, 0 frame-pointer native, k > 0 frameless native
  uintptr_t last_managed_outer = 0;  // the last call site read from a frameless stub
};

// The outermost managed frame of a thread (Main, a thread's start method): where the
// frame record was, its return address and its caller's frame. Found by a complete walk.
struct ThreadBase {
  uintptr_t frame = 0;
  uintptr_t ret = 0;
  uintptr_t caller = 0;
};

constexpr int kMaxWalk = 256;

// Fills ips (innermost first) with the return addresses from the first managed frame
// to the outermost managed one, skipping the native frames before the first (the
// runtime's allocation machinery) and after the last (the host starting the thread);
// native frames between managed ones are kept. Stops at the thread's remembered base
// frame when it is still the same activation. Returns the number of frames written
// (0 if none is managed).
int walk_from_first_managed(uintptr_t* ips, int max, const StackBounds& bounds, PrefixMemo* memo, ThreadBase* base)
    __attribute__((noinline));

// Same walk without skipping: every frame from the caller outward (tests, native hooks).
int walk_all(uintptr_t* ips, int max, const StackBounds& bounds) __attribute__((noinline));

// How the function containing a native return address lays out its frame.
// Exposed for tests. Returns 0 for a frame-pointer frame, k > 0 for a frameless
// function whose canonical frame address is its stack pointer plus k, -1 if unknown.
long native_frame_cfa_offset(uintptr_t ret);

}  // namespace memnb
