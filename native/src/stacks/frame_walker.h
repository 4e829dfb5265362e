// Walks the current thread's stack from inside a hook, without allocating or locking.
//
// Managed code (JIT and ReadyToRun) keeps RBP frame chains in most methods; so do libcoreclr and
// our own library. The runtime's code generator leaves the frame out of small optimized methods:
// for a managed return address the walker learns once whether its function is frameless and its
// frame size (ReadyToRun code: the image's unwind data, stacks/r2r_unwind.h; JIT-compiled code:
// its prolog) and reads the caller's return address from its frame. The other break is the
// runtime's allocation stub: it calls into the runtime
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
// Two answers per position (a program alternates between a few allocation helpers, whose paths
// differ a few frames out), and the last few managed call sites read from frameless stubs (the
// allocating method's call site changes from one allocation to the next): without them, mixed
// code spent 2.4% of its allocating thread in classify's table.
// The OSR record the thread's walks found last (osr_caller_return_memo): the optimized frame at
// `fp` whose record holds `next` and the site `ret`, and the slot of the tier-0 record above it.
struct OsrMemo {
  uintptr_t fp = 0;
  uintptr_t next = 0;
  uintptr_t ret = 0;
  uintptr_t slot = 0;  // 0: none remembered
};

struct PrefixMemo {
  static constexpr int kMax = 16;
  static constexpr int kWays = 2;
  static constexpr int kOuters = 8;
  uintptr_t ret[kMax][kWays] = {};  // 0: empty (no return address is 0)
  long action[kMax][kWays] = {};    // -1 managed, 0 frame-pointer native, k > 0 frameless native
  uint8_t last_way[kMax] = {};      // the way written last: the other one is replaced next
  uintptr_t managed_outer[kOuters] = {};  // call sites read from frameless stubs, known managed
  int next_outer = 0;
  OsrMemo osr;  // the walker's last OSR record
  // The frame kinds (classify's cached values) of the return addresses the chain read last, by a
  // hash of the address: whether a managed frame runs without a frame pointer is asked for every
  // record a walk reads, and the shared table's lookup cost mixed code's walk 14% (ns per part).
  static constexpr int kKindBits = 6;
  struct Kind {
    uintptr_t ret = 0;
    uint64_t value = 0;
  };
  Kind kinds[1 << kKindBits];
};

// The outermost managed frame of a thread (Main, a thread's start method): where the
// frame record was, its return address and its caller's frame. Found by a complete walk.
struct ThreadBase {
  uintptr_t frame = 0;
  uintptr_t ret = 0;
  uintptr_t caller = 0;
};

constexpr int kMaxWalk = 256;

// The frame records the thread's previous walk read, to find the part of a new stack that
// has not changed without following its chain. Following a chain is one dependent load
// after another (~4-7 ns a frame); checking remembered records is independent loads the
// processor runs side by side (~1 ns a frame). A walk that reaches a record the previous
// walk read — same address — and finds it and every record beyond it unchanged (same
// saved frame pointer, same return address) takes the rest of its stack from the previous
// walk: the same records give the same return addresses, so the result is exactly what a
// full walk finds. Only walks that ended at the thread's base frame are remembered.
// On-stack replacement (OSR): a loop of a tier-0 method moved to optimized code while it runs.
// The optimized frame is laid below the tier-0 one: its record holds the caller's frame pointer
// (copied from the tier-0 record) but, in the return-address slot, the tier-0 code's return site
// of its call to the runtime's patchpoint helper. Followed as is, the chain lists the method
// twice and skips its caller. The return sites found that way (osr_sites: learned by the recorder
// when a new stack shows one, see Recorder::learn_osr_sites) make the walker look for the tier-0
// record above the optimized frame, the slot that holds the same caller frame pointer, and take
// the caller's return address from beside it.
constexpr uint32_t kMaxOsrSites = 64;
// How many sites are known (0 almost always: one load per walk, then no cost per frame).
uint32_t osr_site_count();
bool is_osr_site(uintptr_t ret, uint32_t count);
// Adds a site (idempotent; false when the table is full). Counts as a new generation: walks
// remembered before it are not reused (they may hold the site's record as it was followed).
bool add_osr_site(uintptr_t ret);
// The return address into the caller of the optimized frame at `fp` whose record holds `next`
// and the site `ret`: beside the first slot above the frame that holds `next`; `ret` when
// there is none below `next` (not an OSR frame after all).
uintptr_t osr_caller_return(uintptr_t fp, uintptr_t next, uintptr_t ret, uintptr_t stack_hi);
// The same answer for a loop that allocates inside an OSR frame, without the scan each time: when
// the frame, its record (`next`, `ret`) are the ones of the memo and the remembered slot still
// holds `next`, the return address beside that slot (read now). The tier-0 record stays where it
// is while the activation lives; any other case scans and remembers what it found.
// The walker checks the memo inline and calls this on a miss (as a call on every OSR frame it
// cost the allocation loop 5%).
uintptr_t osr_caller_return_memo(OsrMemo* memo, uintptr_t fp, uintptr_t next, uintptr_t ret, uintptr_t stack_hi);

struct WalkCache {
  static constexpr int kMaxPrefix = PrefixMemo::kMax;
  static constexpr int kMaxSlots = 4;
  static constexpr int kMaxCallers = 2;
  static constexpr int kMaxRecords = 128;

  // The native frames before the first managed one, innermost first, and the return-address
  // slots read from frameless callers among them. Addresses (and saved frame pointers) are
  // offsets from the walk's own frame: the runtime's path to the hook lays out the same frames
  // wherever the managed stack ends, so one allocation site recognises its prefix at any depth.
  // A few of them: each allocation helper of the runtime (objects, arrays, strings) has its
  // own path, and a program alternates between them.
  struct Prefix {
    int records = 0;  // 0: none remembered
    int slots = 0;
    uintptr_t addr[kMaxPrefix], next[kMaxPrefix], ret[kMaxPrefix];
    uintptr_t slot_addr[kMaxSlots], slot_value[kMaxSlots];
    uintptr_t span = 0;      // bytes from the walk's frame that the checks read
    uintptr_t ip0 = 0;       // the first managed return address
    uintptr_t chain_fp = 0;  // the first record of the managed chain (an offset too)
    bool ip0_frameless = false;
    // Return addresses read from ip0's frame when its function runs without a frame pointer
    // (ReadyToRun code): its caller's, and further out while those are frameless too (their
    // slots are among slot_addr).
    int callers = 0;
    uintptr_t caller_ip[kMaxCallers];
  };
  static constexpr int kPrefixes = 4;
  // A walk that ended at the base frame after at least kDeepRecords chain records turns reuse on
  // for the next walks; one with fewer off. One is enough: even on a shallow stack the remembered
  // native prefix (the runtime's path from its allocation helper to the hook), checked with
  // independent loads, costs less than following it frame by frame (an allocation loop three
  // managed frames deep: allocating thread's CPU -8%; at 12, only deep stacks had it).
  static constexpr int kDeepRecords = 1;
  bool deep = false;
  Prefix prefixes[kPrefixes];
  int last_prefix = 0;     // the one that matched or was made last: checked first
  uintptr_t last_ip0 = 0;  // the previous walk's first managed return address (0: none)

  // The chain's records, OUTERMOST first (records[0] is the base frame's), so that the
  // unchanged outer part stays in place from one walk to the next. records == 0: none.
  // Each record as memory holds it, (saved frame pointer, return address) side by side: checking
  // one is a 16-byte load from the stack compared with a 16-byte load from here.
  int records = 0;
  uintptr_t addr[kMaxRecords];
  alignas(16) uintptr_t rec[kMaxRecords][2];  // [0] the saved frame pointer, [1] the return address
  ThreadBase base;  // the base frame those walks stopped at
  uint32_t osr_generation = 0;  // osr_site_count() when they were remembered

  // What the walk in progress reads, before it becomes the remembered walk (here, not in the
  // walker's frame: a frame of several KiB cost the hook a page of stack on every call).
  uintptr_t scratch_addr[kMaxRecords];
  alignas(16) uintptr_t scratch_rec[kMaxRecords][2];
  uintptr_t scratch_prefix_addr[kMaxPrefix], scratch_prefix_next[kMaxPrefix], scratch_prefix_ret[kMaxPrefix];
  uintptr_t scratch_slot_addr[kMaxSlots], scratch_slot_value[kMaxSlots];

  // Per walk: its number, and how many outermost frames of its result are known to equal
  // the previous walk's (the whole depth when nothing changed).
  uint64_t walks = 0;
  int unchanged_outer = 0;
  // The walk wrote ips[0 .. depth - unfilled) only: the outer frames are ret[unfilled - 1 .. 0]
  // (fill_outer writes them; intern_stack given the hint does not read them).
  int unfilled = 0;
};

// Writes the outer frames a walk with a cache left out (WalkCache::unfilled) into ips.
inline void fill_outer(uintptr_t* ips, int depth, WalkCache* cache) {
  int k = cache->unfilled;
  for (int i = k - 1, at = depth - k; i >= 0; --i) ips[at++] = cache->rec[i][1];
  cache->unfilled = 0;
}

// Fills ips (innermost first) with the return addresses from the first managed frame
// to the outermost managed one, skipping the native frames before the first (the
// runtime's allocation machinery) and after the last (the host starting the thread);
// native frames between managed ones are kept. Stops at the thread's remembered base
// frame when it is still the same activation. Returns the number of frames written
// (0 if none is managed).
// With a cache (the calling thread's own), the unchanged part of the stack is taken from
// the previous walk (see WalkCache) and cache->unchanged_outer says how much of it.
int walk_from_first_managed(uintptr_t* ips, int max, const StackBounds& bounds, PrefixMemo* memo, ThreadBase* base,
                            WalkCache* cache = nullptr) __attribute__((noinline));

// Same walk without skipping: every frame from the caller outward (tests, native hooks).
int walk_all(uintptr_t* ips, int max, const StackBounds& bounds) __attribute__((noinline));

// How the function containing a native return address lays out its frame.
// Exposed for tests. Returns 0 for a frame-pointer frame, k > 0 for a frameless
// function whose canonical frame address is its stack pointer plus k, -1 if unknown.
long native_frame_cfa_offset(uintptr_t ret);

// For a managed return address: k > 0 when its function runs without a frame pointer with CFA =
// SP + k (ReadyToRun code, from its image's unwind data: stacks/r2r_unwind.h), 0 otherwise
// (an RBP frame, or unknown). Cached per address with the native answers.
long managed_frameless_cfa_offset(uintptr_t ret);

// JIT-compiled code has no image to tell its frame: the managed walk (managed allocation callbacks
// only: the runtime is asked) reads the prolog at the start of the code the runtime says holds the
// return address, once per address. The source: the runtime's answer, 0 for none.
using ManagedCodeStart = uintptr_t (*)(uintptr_t ret);
void set_managed_code_start_source(ManagedCodeStart source);
// The frame a JIT-compiled prolog makes, from its bytes (`before` of them precede the return
// address): 0 for an RBP frame (push rbp first), k > 0 for pushes and an allocation (CFA = SP + k,
// 16-byte aligned at a call), -1 for anything else.
long jit_prolog_cfa_offset(const uint8_t* code, size_t before);

}  // namespace memnb
