// Stacks for native allocations: DWARF CFI (libunwind) through native code, which is
// often built without frame pointers (libc, libstdc++, -O2 user libraries), until the
// first managed frame; from there the RBP chain, as the JIT keeps it. One merged stack:
// C leaf -> ... -> C# caller -> ... -> Main.
#pragma once
#include <cstdint>

#include "stacks/frame_walker.h"
#include "stacks/module_map.h"

namespace memnb {

// Once per process before the first walk: per-thread unwind caches, no global lock.
void native_walker_init();

// Forgets the cached unwind rules (after a dlclose: another object may be mapped there).
void native_walker_forget();

// Return addresses innermost first, starting at the first frame outside [skip_lo, skip_hi)
// (the tracer's own hook frames). Native frames beyond the outermost managed frame (the
// host that started a managed thread) are dropped; a thread without managed frames keeps
// every frame. `base` is the thread's outermost managed frame, shared with
// walk_from_first_managed (learned by a complete walk, used to stop early). `cache` is the
// thread's is_native cache (null: none kept). Returns the number written.
int walk_native(uintptr_t* ips, int max, const StackBounds& bounds, uintptr_t skip_lo, uintptr_t skip_hi,
                ThreadBase* base, ModuleCache* cache = nullptr) __attribute__((noinline));

}  // namespace memnb
