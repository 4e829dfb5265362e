#include "stacks/frame_walker.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <emmintrin.h>

#include <atomic>
#include <cstring>

#include "common/address_table.h"
#include "stacks/module_map.h"
#include "stacks/r2r_unwind.h"

namespace memnb {

// classify() result for native code whose frame layout libunwind could not tell.
constexpr long kUnknownFrame = -2;

namespace {

// Cache of return address -> frame kind. Values: 1 = native with frame pointer,
// 2 = native unknown, (k << 2) | 3 = native frameless with CFA = SP + k, 4 = managed,
// (k << 3) | 4 = managed frameless (ReadyToRun code) with CFA = SP + k (k >= 16), 12 = managed
// outside every ReadyToRun image (JIT-compiled code: see g_jit).
AddressTable<16384> g_cache;
constexpr uint64_t kManaged = 4;
constexpr uint64_t kJitCode = (1 << 3) | kManaged;
// JIT-compiled return address -> (k << 3) | 4 or 4, decided by the managed walk (frame_kind).
AddressTable<8192> g_jit;
std::atomic<ManagedCodeStart> g_code_start{nullptr};

inline bool is_managed_value(uint64_t v) { return (v & 7) == kManaged; }
// k > 0 for managed code that runs without a frame pointer, else 0.
inline uint64_t managed_frameless(uint64_t v) { return (v & 7) == kManaged && v >> 3 >= 8 ? v >> 3 : 0; }

// A pseudo record (WalkCache::addr): the 16 bytes ending with a return address read from a
// frameless managed frame, not a frame record. Tagged so that no walk takes it for one.
constexpr uintptr_t kPseudoRecord = 1;

long classify_with_libunwind(uintptr_t ret) {
  unw_context_t ctx;
  unw_cursor_t cursor;
  if (unw_getcontext(&ctx) != 0 || unw_init_local(&cursor, &ctx) != 0) return -1;
  for (int depth = 0; depth < 256; ++depth) {
    if (unw_step(&cursor) <= 0) return -1;
    unw_word_t ip = 0, sp = 0, bp = 0;
    unw_get_reg(&cursor, UNW_REG_IP, &ip);
    if (ip != ret) continue;
    unw_get_reg(&cursor, UNW_REG_SP, &sp);
    unw_get_reg(&cursor, UNW_X86_64_RBP, &bp);
    if (unw_step(&cursor) <= 0) return -1;
    unw_word_t cfa = 0;
    unw_get_reg(&cursor, UNW_REG_SP, &cfa);
    if (cfa == bp + 16) return 0;
    if (cfa > sp && cfa - sp < 65536) return static_cast<long>(cfa - sp);
    return -1;
  }
  return -1;
}

inline bool frame_ok(uintptr_t fp, const StackBounds& b) {
  return fp >= b.lo && fp + 16 <= b.hi && (fp & 7) == 0;
}

}  // namespace

namespace {
// Written once per site (rarely), read by every walk: a count published after its entry.
std::atomic<uint32_t> g_osr_count{0};
std::atomic<uintptr_t> g_osr_sites[kMaxOsrSites];
std::atomic<bool> g_osr_adding{false};
}  // namespace

uint32_t osr_site_count() { return g_osr_count.load(std::memory_order_acquire); }

bool is_osr_site(uintptr_t ret, uint32_t count) {
  for (uint32_t i = 0; i < count; ++i)
    if (g_osr_sites[i].load(std::memory_order_relaxed) == ret) return true;
  return false;
}

bool add_osr_site(uintptr_t ret) {
  while (g_osr_adding.exchange(true, std::memory_order_acquire)) {
  }
  uint32_t count = g_osr_count.load(std::memory_order_relaxed);
  bool ok = is_osr_site(ret, count);
  if (!ok && count < kMaxOsrSites) {
    g_osr_sites[count].store(ret, std::memory_order_relaxed);
    g_osr_count.store(count + 1, std::memory_order_release);
    ok = true;
  }
  g_osr_adding.store(false, std::memory_order_release);
  return ok;
}

namespace {
// The slot of the tier-0 record above the optimized frame at `fp` (the first that holds `next`),
// or 0. The tier-0 frame (locals, then its record) lies between the optimized frame's record and
// the caller's: no local holds the address of the caller's record, which only a saved frame
// pointer does. A bounded scan: a tier-0 frame is a few hundred bytes.
uintptr_t osr_record_slot(uintptr_t fp, uintptr_t next, uintptr_t stack_hi) {
  if (next <= fp || next + 16 > stack_hi || next - fp > (uintptr_t{64} << 10)) return 0;
  for (uintptr_t at = fp + 16; at < next; at += 8)
    if (*reinterpret_cast<const uintptr_t*>(at) == next) return at;
  return 0;
}
}  // namespace

uintptr_t osr_caller_return(uintptr_t fp, uintptr_t next, uintptr_t ret, uintptr_t stack_hi) {
  uintptr_t slot = osr_record_slot(fp, next, stack_hi);
  return slot != 0 ? *reinterpret_cast<const uintptr_t*>(slot + 8) : ret;
}

uintptr_t osr_caller_return_memo(OsrMemo* memo, uintptr_t fp, uintptr_t next, uintptr_t ret, uintptr_t stack_hi) {
  if (memo->fp == fp && memo->next == next && memo->ret == ret && memo->slot != 0) {
    const uintptr_t* slot = reinterpret_cast<const uintptr_t*>(memo->slot);
    if (slot[0] == next) return slot[1];
  }
  uintptr_t slot = osr_record_slot(fp, next, stack_hi);
  *memo = OsrMemo{fp, next, ret, slot};
  return slot != 0 ? *reinterpret_cast<const uintptr_t*>(slot + 8) : ret;
}

// The cached kind of a return address (g_cache's values), computed the first time it is seen.
uint64_t classify_value(uintptr_t ret) {
  if (uint64_t v = g_cache.find(ret)) return v;
  uint64_t value;
  if (!module_map().is_native(ret)) {
    bool in_image = false;
    long k = managed_frame_cfa_offset(ret, &in_image);
    value = k > 0 ? (static_cast<uint64_t>(k) << 3) | kManaged : in_image ? kManaged : kJitCode;
  } else {
    long k = classify_with_libunwind(ret);
    value = k == 0 ? 1 : k < 0 ? 2 : (static_cast<uint64_t>(k) << 2) | 3;
  }
  g_cache.insert(ret, value);
  return value;
}

// Returns -1 for managed code, else as native_frame_cfa_offset.
long classify(uintptr_t ret) {
  uint64_t v = classify_value(ret);
  if (v == 1) return 0;
  if (v == 2) return kUnknownFrame;
  if (is_managed_value(v)) return -1;
  return static_cast<long>(v >> 2);
}

// The frame of JIT-compiled code at ret, from its prolog (the runtime asked for the code's start).
__attribute__((noinline)) uint64_t jit_value(uintptr_t ret) {
  if (uint64_t v = g_jit.find(ret)) return v;
  ManagedCodeStart source = g_code_start.load(std::memory_order_acquire);
  if (!source) return kManaged;  // nothing to ask (not kept: a source may come later)
  uintptr_t start = source(ret);
  long k = start != 0 && start < ret && ret - start < (uintptr_t{1} << 20)
               ? jit_prolog_cfa_offset(reinterpret_cast<const uint8_t*>(start), ret - start)
               : -1;
  uint64_t value = k > 0 ? (static_cast<uint64_t>(k) << 3) | kManaged : kManaged;
  g_jit.insert(ret, value);
  return value;
}

// classify_value through the thread's memo of the addresses its walks read last; JIT-compiled
// code's frame decided here (the managed walk runs in the runtime's allocation callbacks, where the
// runtime may be asked; the native walker's hooks may run while it holds its locks).
inline uint64_t frame_kind(PrefixMemo* memo, uintptr_t ret) {
  PrefixMemo::Kind& k = memo->kinds[(ret ^ (ret >> PrefixMemo::kKindBits)) & ((1 << PrefixMemo::kKindBits) - 1)];
  if (__builtin_expect(k.ret == ret, 1)) return k.value;
  uint64_t v = classify_value(ret);
  if (v == kJitCode) v = jit_value(ret);
  k.ret = ret;
  k.value = v;
  return v;
}

void set_managed_code_start_source(ManagedCodeStart source) { g_code_start.store(source, std::memory_order_release); }

long jit_prolog_cfa_offset(const uint8_t* code, size_t before) {
  size_t i = 0, limit = before < 64 ? before : 64;
  uint64_t pushed = 0;
  if (limit >= 3 && code[0] == 0xC5 && code[1] == 0xF8 && code[2] == 0x77) i = 3;  // vzeroupper
  while (i < limit) {
    uint8_t b = code[i];
    if (b == 0x55) return i == 0 || (i == 3 && code[0] == 0xC5) ? 0 : -1;  // push rbp: the frame pointer
    if (b >= 0x50 && b <= 0x57 && b != 0x54) {  // push rax..rdi (rax: the call's alignment)
      pushed += 8;
      i += 1;
    } else if (b == 0x41 && i + 1 < limit && code[i + 1] >= 0x50 && code[i + 1] <= 0x57) {  // push r8..r15
      pushed += 8;
      i += 2;
    } else if (b == 0x48 && i + 3 < limit && code[i + 1] == 0x83 && code[i + 2] == 0xEC) {  // sub rsp, imm8
      pushed += code[i + 3];
      i += 4;
      break;
    } else if (b == 0x48 && i + 6 < limit && code[i + 1] == 0x81 && code[i + 2] == 0xEC) {  // sub rsp, imm32
      uint32_t v;
      memcpy(&v, code + i + 3, 4);
      pushed += v;
      i += 7;
      break;
    } else {
      break;
    }
  }
  // A call needs the stack 16-byte aligned: the return address plus what the prolog moved.
  if (pushed == 0 || (pushed + 8) % 16 != 0 || pushed > (uint64_t{1} << 20)) return -1;
  return static_cast<long>(pushed + 8);
}

long managed_frameless_cfa_offset(uintptr_t ret) {
  return static_cast<long>(managed_frameless(classify_value(ret)));
}

long native_frame_cfa_offset(uintptr_t ret) {
  long k = classify(ret);
  return k == kUnknownFrame || k < 0 ? -1 : k;
}

// The mapping that holds the calling thread's stack pointer, from /proc/self/maps, read
// with plain system calls into a fixed buffer. Not pthread_getattr_np: it holds the thread's
// lock while it calls realloc, and a thread's first allocation hook gets here (a hooked
// realloc inside pthread_getattr_np would wait for that lock forever).
StackBounds current_stack_bounds() {
  StackBounds b;
  uintptr_t sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return b;
  char buf[4096];
  // Per line: the start address, '-', the end address, then anything up to the newline.
  enum { kStart, kEnd, kRest } state = kStart;
  uintptr_t start = 0, end = 0;
  bool found = false;
  ssize_t n;
  while (!found && (n = read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n && !found; ++i) {
      char c = buf[i];
      if (state == kRest) {
        if (c == '\n') {
          state = kStart;
          start = end = 0;
        }
        continue;
      }
      int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (digit >= 0) {
        (state == kStart ? start : end) = ((state == kStart ? start : end) << 4) | static_cast<uintptr_t>(digit);
      } else if (state == kStart && c == '-') {
        state = kEnd;
      } else {
        if (state == kEnd && sp >= start && sp < end) {
          b.lo = start;
          b.hi = end;
          found = true;
        }
        state = c == '\n' ? kStart : kRest;
        if (state == kStart) start = end = 0;
      }
    }
  }
  close(fd);
  return b;
}

namespace {

inline bool same_base(const ThreadBase& a, const ThreadBase& b) {
  return a.frame == b.frame && a.ret == b.ret && a.caller == b.caller;
}

// Whether the remembered chain records 0..last still hold what they held. The loads do not
// depend on each other; eight at a time, stopping at the first group that differs.
inline bool records_unchanged(const WalkCache* c, int last) {
  const __m128i zero = _mm_setzero_si128();
  for (int i = 0; i <= last;) {
    __m128i diff = zero;
    int group = last - i + 1 < 8 ? last - i + 1 : 8;
    for (int k = 0; k < group; ++k, ++i) {
      __m128i now = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c->addr[i] & ~kPseudoRecord));
      __m128i then = _mm_load_si128(reinterpret_cast<const __m128i*>(c->rec[i]));
      diff = _mm_or_si128(diff, _mm_xor_si128(now, then));
    }
    if (_mm_movemask_epi8(_mm_cmpeq_epi8(diff, zero)) != 0xFFFF) return false;
  }
  return true;
}

// Whether the frames from `fp` out hold the remembered prefix, shifted to start at fp. In order,
// stopping at the first record that differs: another helper's path differs a few frames out.
inline bool prefix_unchanged(const WalkCache::Prefix& p, uintptr_t fp, const StackBounds& bounds) {
  if (p.records == 0 || fp + p.span > bounds.hi || fp + p.span < fp) return false;
  for (int i = 0; i < p.records; ++i) {
    const uintptr_t* r = reinterpret_cast<const uintptr_t*>(fp + p.addr[i]);
    if (((r[0] ^ (fp + p.next[i])) | (r[1] ^ p.ret[i])) != 0) return false;
  }
  for (int i = 0; i < p.slots; ++i)
    if (*reinterpret_cast<const uintptr_t*>(fp + p.slot_addr[i]) != p.slot_value[i]) return false;
  return true;
}

// The walk. Reuse: with the previous walk's records (WalkCache), for threads whose stacks are
// deep. Without: the plain walk, every frame read along the chain and nothing remembered
// (cache unused): on a shallow stack as cheap as a walk gets, with a lean frame, since the
// compiler drops every part of the reuse from that instantiation.
template <bool Reuse>
__attribute__((noinline)) int walk(uintptr_t* ips, int max, const StackBounds& bounds, PrefixMemo* memo, ThreadBase* base,
                                   WalkCache* cache) {
  if constexpr (!Reuse) cache = nullptr;
  uintptr_t fp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  const uint32_t osr = g_osr_count.load(std::memory_order_acquire);
  bool remember = true;  // false once an OSR frame was read: its fixed return address is not in memory
  if (max > kMaxWalk) max = kMaxWalk;
  int n = 0;
  bool first_was_frameless = false;
  // The ips read from frameless managed frames (pseudo records), to find the outermost frame's record.
  bool any_pseudo = false;
  uint64_t pseudo_ips[kMaxWalk / 64];
  auto mark_pseudo = [&](int i) {
    if (!any_pseudo) {
      any_pseudo = true;
      for (uint64_t& w : pseudo_ips) w = 0;
    }
    pseudo_ips[i >> 6] |= uint64_t{1} << (i & 63);
  };
  bool complete = false;
  uintptr_t found_fp = 0, found_next = 0;  // the frame record the first managed ip came from

  // What this walk reads, to remember for the next one.
  bool prefix_from_cache = false;
  constexpr bool reuse = Reuse;
  bool prefix_ok = reuse;
  int pfx = 0, slots = 0;
  uintptr_t* p_addr = reuse ? cache->scratch_prefix_addr : nullptr;
  uintptr_t* p_next = reuse ? cache->scratch_prefix_next : nullptr;
  uintptr_t* p_ret = reuse ? cache->scratch_prefix_ret : nullptr;
  uintptr_t* s_addr = reuse ? cache->scratch_slot_addr : nullptr;
  uintptr_t* s_value = reuse ? cache->scratch_slot_value : nullptr;
  int d = -1;  // the innermost remembered chain record this walk has not passed
  uintptr_t previous_ip0 = 0;
  int previous_records = 0;
  if (cache) {
    ++cache->walks;
    cache->unchanged_outer = 0;
    cache->unfilled = 0;
    previous_ip0 = cache->last_ip0;
    cache->last_ip0 = 0;
    if (reuse && cache->records > 0 && same_base(cache->base, *base) && cache->osr_generation == osr) {
      previous_records = cache->records;
      d = previous_records - 1;
    }
    cache->records = 0;  // rebuilt below from what this walk reads, or left empty
    for (int k = 0; reuse && k < WalkCache::kPrefixes && !prefix_from_cache; ++k) {
      int at = (cache->last_prefix + k) % WalkCache::kPrefixes;
      const WalkCache::Prefix& p = cache->prefixes[at];
      if (!prefix_unchanged(p, fp, bounds)) continue;
      ips[n++] = p.ip0;
      for (int i = 0; i < p.callers && n < max; ++i) {
        mark_pseudo(n);
        ips[n++] = p.caller_ip[i];
      }
      first_was_frameless = p.ip0_frameless;
      found_fp = fp + p.addr[p.records - 1];
      found_next = fp + p.chain_fp;
      fp = found_next;
      prefix_from_cache = true;
      cache->last_prefix = at;
    }
  }

  if (!prefix_from_cache) {
    int prefix = 0;  // native frames seen before the first managed one
    // The native frames of the runtime's allocation path, up to the first managed frame.
    while (n == 0) {
      if (!frame_ok(fp, bounds)) return 0;
      const uintptr_t* frame = reinterpret_cast<const uintptr_t*>(fp);
      uintptr_t next = frame[0];
      uintptr_t ret = frame[1];
      if (ret == 0) return 0;
      if (!prefix_ok) {
      } else if (pfx < WalkCache::kMaxPrefix) {
        p_addr[pfx] = fp;
        p_next[pfx] = next;
        p_ret[pfx] = ret;
        ++pfx;
      } else {
        prefix_ok = false;
      }
      long action;
      if (prefix < PrefixMemo::kMax && memo->ret[prefix][0] == ret) {
        action = memo->action[prefix][0];
      } else if (prefix < PrefixMemo::kMax && memo->ret[prefix][1] == ret) {
        action = memo->action[prefix][1];
      } else {
        action = classify(ret);
        if (action == kUnknownFrame) action = 0;
        if (prefix < PrefixMemo::kMax) {
          int way = memo->last_way[prefix] ^ 1;
          memo->ret[prefix][way] = ret;
          memo->action[prefix][way] = action;
          memo->last_way[prefix] = static_cast<uint8_t>(way);
        }
      }
      ++prefix;
      uintptr_t ip0_at = 0;  // where the first managed return address was read
      if (action < 0) {
        ips[n++] = ret;
        ip0_at = fp + 8;
      } else if (action > 0) {
        // The caller of this frame runs without a frame pointer: its return address
        // sits at CFA - 8, and its stack pointer is just above our frame record.
        uintptr_t slot = fp + 16 + static_cast<uintptr_t>(action) - 8;
        if (slot + 8 <= bounds.hi) {
          uintptr_t outer = *reinterpret_cast<const uintptr_t*>(slot);
          if (!prefix_ok) {
          } else if (slots < WalkCache::kMaxSlots) {
            s_addr[slots] = slot;
            s_value[slots] = outer;
            ++slots;
          } else {
            prefix_ok = false;
          }
          bool managed = false;
          for (int k = 0; k < PrefixMemo::kOuters && !managed; ++k) managed = memo->managed_outer[k] == outer;
          if (outer != 0 && !managed && classify(outer) == -1) {
            managed = true;
            memo->managed_outer[memo->next_outer] = outer;
            memo->next_outer = (memo->next_outer + 1) % PrefixMemo::kOuters;
          }
          if (outer != 0 && managed) {
            first_was_frameless = true;
            ips[n++] = outer;
            ip0_at = slot;
          }
        }
      }
      if (n == 1) {
        found_fp = fp;
        found_next = next;
        // The allocating method itself may run without a frame pointer (ReadyToRun code): its
        // callers' return addresses from its frame (as in the chain below), the slots checked
        // with the prefix's.
        uintptr_t at = ip0_at;
        for (uint64_t k = managed_frameless(frame_kind(memo, ips[0])); k != 0 && n < max;) {
          uintptr_t slot = at + k;
          if (slot + 8 > bounds.hi || slot < at || (next > fp && slot + 8 > next)) break;
          uintptr_t outer = *reinterpret_cast<const uintptr_t*>(slot);
          if (outer == 0) break;
          if (!prefix_ok) {
          } else if (slots < WalkCache::kMaxSlots && n - 1 < WalkCache::kMaxCallers) {
            s_addr[slots] = slot;
            s_value[slots] = outer;
            ++slots;
          } else {
            prefix_ok = false;
          }
          mark_pseudo(n);
          ips[n++] = outer;
          at = slot;
          k = managed_frameless(frame_kind(memo, outer));
        }
      }
      if (next <= fp) return n;
      fp = next;
      if (n == 0 && prefix > kMaxWalk) return 0;
    }
    if (cache && prefix_ok) {
      // Replaces the variant after the one used last (a few helpers' paths take turns).
      int at = (cache->last_prefix + 1) % WalkCache::kPrefixes;
      WalkCache::Prefix& p = cache->prefixes[at];
      cache->last_prefix = at;
      // Offsets from this walk's frame (p_addr[0]); every address read lies above it.
      uintptr_t origin = p_addr[0], span = 0;
      p.records = pfx;
      p.slots = slots;
      for (int i = 0; i < pfx; ++i) {
        p.addr[i] = p_addr[i] - origin;
        p.next[i] = p_next[i] - origin;
        p.ret[i] = p_ret[i];
        if (p_addr[i] - origin + 16 > span) span = p_addr[i] - origin + 16;
      }
      for (int i = 0; i < slots; ++i) {
        p.slot_addr[i] = s_addr[i] - origin;
        p.slot_value[i] = s_value[i];
        if (s_addr[i] - origin + 8 > span) span = s_addr[i] - origin + 8;
      }
      p.span = span;
      p.ip0 = ips[0];
      p.callers = n - 1;
      for (int i = 1; i < n; ++i) p.caller_ip[i - 1] = ips[i];
      p.chain_fp = found_next - origin;
      p.ip0_frameless = first_was_frameless;
    }
  }
  if (cache) cache->last_ip0 = ips[0];

  // Managed frames (and native ones between them) by their frame chain, the hot loop of a
  // deep stack: two loads and a few compares a frame, nothing stored but the ip (and the
  // record, for the next walk).
  const uintptr_t first_fp = fp;
  const int chain_start = n;  // ips[chain_start] is read from the record at first_fp
  const uintptr_t hi = bounds.hi, base_frame = base->frame;
  complete = fp < bounds.lo;  // the chain only goes up from here: the upper bound is checked per frame
  int m = 0;  // chain records read by this walk, innermost first in c_*
  uintptr_t* c_addr = reuse ? cache->scratch_addr : nullptr;
  uintptr_t(*c_rec)[2] = reuse ? cache->scratch_rec : nullptr;
  while (!complete && n < max) {
    if (fp + 16 > hi || (fp & 7) != 0) {
      complete = true;
      break;
    }
    const uintptr_t* frame = reinterpret_cast<const uintptr_t*>(fp);
    uintptr_t next = frame[0];
    uintptr_t ret = frame[1];
    if (__builtin_expect(osr != 0, 0) && is_osr_site(ret, osr)) {
      const OsrMemo& om = memo->osr;
      const uintptr_t* slot = reinterpret_cast<const uintptr_t*>(om.slot);
      uintptr_t caller = om.fp == fp && om.next == next && om.ret == ret && slot && slot[0] == next
                             ? slot[1]
                             : osr_caller_return_memo(&memo->osr, fp, next, ret, hi);
      if (caller != ret) {
        ret = caller;
        remember = false;  // this walk's records are not what memory holds: none kept, none reused
        d = -1;
      }
    }
    if (d >= 0) {
      while (d >= 0 && cache->addr[d] < fp) --d;
      if (d >= 0 && cache->addr[d] == fp && cache->rec[d][0] == next && cache->rec[d][1] == ret) {
        // The previous walk read this record too, unchanged. If every record beyond it is
        // unchanged as well, the stack from here out is the previous walk's: its records
        // 0..d stay where they are, this walk's new ones go inside them.
        if (n + d + 1 <= max && d + 1 + m <= WalkCache::kMaxRecords && records_unchanged(cache, d - 1)) {
          bool whole = m == 0 && n == 1 && ips[0] == previous_ip0 && d == previous_records - 1;
          // The outer frames are not copied: the caller fills them only if it needs them.
          n += d + 1;
          cache->unfilled = d + 1;
          for (int j = 0; j < m; ++j) {
            cache->addr[d + m - j] = c_addr[j];
            cache->rec[d + m - j][0] = c_rec[j][0];
            cache->rec[d + m - j][1] = c_rec[j][1];
          }
          cache->records = d + 1 + m;
          cache->deep = cache->records >= WalkCache::kDeepRecords;
          cache->unchanged_outer = whole ? n : d + 1;
          return n;
        }
        d = -1;  // a record further out changed: read the chain to its end
      }
    }
    if (__builtin_expect(ret == 0, 0)) {
      complete = true;
      break;
    }
    if (reuse && remember && m < WalkCache::kMaxRecords) {
      c_addr[m] = fp;
      c_rec[m][0] = next;
      c_rec[m][1] = ret;
    }
    ++m;
    if (__builtin_expect(fp == base_frame, 0) && next == base->caller && base->ret != 0 &&
        (ret == base->ret || classify(ret) != -1)) {
      // The thread's outermost managed frame, still the same activation: what lies
      // beyond it is the native start of the thread, which is not recorded. A native
      // return address in its slot is the runtime's hijack for a GC suspension: the
      // real one is the remembered one (and the records are not remembered: the next
      // walk reads the real one).
      ips[n++] = base->ret;
      if (reuse && remember && ret == base->ret && m <= WalkCache::kMaxRecords) {
        for (int j = 0; j < m; ++j) {
          cache->addr[m - 1 - j] = c_addr[j];
          cache->rec[m - 1 - j][0] = c_rec[j][0];
          cache->rec[m - 1 - j][1] = c_rec[j][1];
        }
        cache->records = m;
        cache->deep = m >= WalkCache::kDeepRecords;
        cache->base = *base;
        cache->osr_generation = osr;
      }
      return n;
    }
    ips[n++] = ret;
    uint64_t kind = frame_kind(memo, ret);
    if (__builtin_expect(managed_frameless(kind) != 0, 0)) {
      // A managed function running without a frame pointer (ReadyToRun code): the record's next is
      // its caller's frame pointer, the return address into its caller is in its frame, at its
      // CFA - 8. Read as a pseudo record (the 16 bytes ending with it), remembered and checked as
      // the records are; the caller may be frameless too.
      uintptr_t at = fp + 8;  // where the return address into the frameless function was read
      for (uint64_t k = managed_frameless(kind); k != 0 && n < max;) {
        uintptr_t slot = at + k;
        if (slot + 8 > hi || slot < at || (next > fp && slot + 8 > next)) break;
        uintptr_t outer = *reinterpret_cast<const uintptr_t*>(slot);
        if (outer == 0) break;
        if (reuse && remember && m < WalkCache::kMaxRecords) {
          c_addr[m] = (slot - 8) | kPseudoRecord;
          c_rec[m][0] = *reinterpret_cast<const uintptr_t*>(slot - 8);
          c_rec[m][1] = outer;
        }
        ++m;
        mark_pseudo(n);
        ips[n++] = outer;
        at = slot;
        k = managed_frameless(frame_kind(memo, outer));
      }
    }
    if (__builtin_expect(next <= fp, 0)) {
      complete = true;
      break;
    }
    fp = next;
  }
  if (!complete) return n;
  // The whole chain was read: drop the native frames beyond the outermost managed one
  // (the host and runtime start-up, the same for every allocation of the thread) and
  // remember that frame, so later walks stop there. ips[i] for i >= 1 was read from the
  // frame record i - 1 links beyond first_fp.
  int outermost = n - 1;
  while (outermost > 0 && classify(ips[outermost]) != -1) --outermost;
  n = outermost + 1;
  if (outermost == 0) {
    // A call site inside the allocating method when it runs frameless (it varies): no base.
    *base = first_was_frameless ? ThreadBase{} : ThreadBase{found_fp, ips[0], found_next};
    return n;
  }
  auto pseudo = [&](int i) { return any_pseudo && (pseudo_ips[i >> 6] >> (i & 63)) & 1; };
  if (outermost < chain_start || pseudo(outermost)) {
    *base = ThreadBase{};  // read from a frameless frame, not a record: no base to stop at
    return n;
  }
  // Each ip after ips[chain_start] (but a pseudo record's) was read from the record the one before links to.
  uintptr_t at = first_fp;
  for (int i = chain_start + 1; i <= outermost; ++i)
    if (!pseudo(i)) at = *reinterpret_cast<const uintptr_t*>(at);
  *base = ThreadBase{at, ips[outermost], *reinterpret_cast<const uintptr_t*>(at)};
  return n;
}

}  // namespace

int walk_from_first_managed(uintptr_t* ips, int max, const StackBounds& bounds, PrefixMemo* memo, ThreadBase* base,
                            WalkCache* cache) {
  if (cache && cache->deep) return walk<true>(ips, max, bounds, memo, base, cache);
  int n = walk<false>(ips, max, bounds, memo, base, nullptr);
  if (cache) {
    // Nothing remembered: the next walk compares with nothing, and reuse starts once a
    // walk finds the stack deep (the ips after the first are the chain's records).
    ++cache->walks;
    cache->unchanged_outer = 0;
    cache->unfilled = 0;
    cache->records = 0;
    cache->last_ip0 = 0;
    cache->deep = n - 1 >= WalkCache::kDeepRecords;
  }
  return n;
}

int walk_all(uintptr_t* ips, int max, const StackBounds& bounds) {
  uintptr_t fp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  int n = 0;
  while (n < max && frame_ok(fp, bounds)) {
    const uintptr_t* frame = reinterpret_cast<const uintptr_t*>(fp);
    if (frame[1] == 0) break;
    ips[n++] = frame[1];
    if (frame[0] <= fp) break;
    fp = frame[0];
  }
  return n;
}

}  // namespace memnb
