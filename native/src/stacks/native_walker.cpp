#include "stacks/native_walker.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <atomic>
#include <climits>

#include "stacks/module_map.h"

namespace memnb {

namespace {

// How to step from a native frame to its caller, learned once per return address from the
// DWARF CFI (through libunwind) and cached: the canonical frame address (CFA) is SP or BP
// plus an offset, the return address sits at CFA - 8, and the caller's RBP is either
// unchanged or saved at CFA + an offset. This is what libunwind's own fast trace caches;
// its unw_backtrace cannot stop at the first managed frame, which has no CFI.
enum RuleKind : uint64_t {
  kRuleSp = 1,         // CFA = SP + cfa_off
  kRuleBp = 2,         // CFA = BP + cfa_off
  kRuleOutermost = 3,  // the thread's first frame: nothing beyond
  kRuleSlow = 4,       // no simple rule (signal frame, RBP kept in a register…): libunwind every time
};
constexpr int32_t kRbpSame = INT32_MIN;

struct Rule {
  uint64_t kind;
  int32_t cfa_off;
  int32_t rbp_off;
};

// value: kind (8 bits) | cfa_off (28 bits, signed) | rbp_off (28 bits, signed; kRbpField = same).
constexpr int64_t kFieldMax = (1 << 27) - 1;
constexpr uint64_t kRbpSameField = 1u << 27;  // -2^27 in the signed 28-bit field

uint64_t pack(const Rule& r) {
  uint64_t cfa = static_cast<uint64_t>(r.cfa_off) & 0xFFFFFFF;
  uint64_t rbp = r.rbp_off == kRbpSame ? kRbpSameField : static_cast<uint64_t>(r.rbp_off) & 0xFFFFFFF;
  return r.kind | (cfa << 8) | (rbp << 36);
}

Rule unpack(uint64_t v) {
  auto field = [](uint64_t f) { return static_cast<int32_t>(static_cast<int64_t>(f << 36) >> 36); };
  Rule r;
  r.kind = v & 0xFF;
  r.cfa_off = field((v >> 8) & 0xFFFFFFF);
  uint64_t rbp = (v >> 36) & 0xFFFFFFF;
  r.rbp_off = rbp == kRbpSameField ? kRbpSame : field(rbp);
  return r;
}

constexpr size_t kRuleSlots = 1u << 16;
struct RuleSlot {
  std::atomic<uint64_t> ip;
  std::atomic<uint64_t> value;
};
RuleSlot g_rules[kRuleSlots];

inline size_t slot_of(uintptr_t ip) { return (ip * 0x9E3779B97F4A7C15ull >> 40) & (kRuleSlots - 1); }

bool find_rule(uintptr_t ip, Rule* out) {
  size_t at = slot_of(ip);
  for (int probe = 0; probe < 16; ++probe, at = (at + 1) & (kRuleSlots - 1)) {
    uint64_t value = g_rules[at].value.load(std::memory_order_acquire);
    uint64_t key = g_rules[at].ip.load(std::memory_order_acquire);
    if (key == ip) {
      if (value == 0) return false;
      *out = unpack(value);
      return true;
    }
    if (key == 0) return false;
  }
  return false;
}

void store_rule(uintptr_t ip, const Rule& rule) {
  size_t at = slot_of(ip);
  for (int probe = 0; probe < 16; ++probe, at = (at + 1) & (kRuleSlots - 1)) {
    uint64_t key = 0;
    if (g_rules[at].ip.compare_exchange_strong(key, ip, std::memory_order_acq_rel) || key == ip) {
      g_rules[at].value.store(pack(rule), std::memory_order_release);
      return;
    }
  }
  // A full neighbourhood: this ip takes the slow path each time.
}

inline bool in_stack(uintptr_t address, const StackBounds& b) { return address >= b.lo && address + 8 <= b.hi; }

// Follows the RBP chain of managed code from a managed frame's RBP, then drops the host frames
// beyond the outermost managed one. A complete walk remembers that frame in `base` (as the
// managed walker does); later walks that meet the same activation stop there, so a
// steady-state walk does not go down through the host's frames every time.
int finish_managed(uintptr_t* ips, int n, int max, uintptr_t fp, const StackBounds& bounds, const ModuleMap& modules,
                   ModuleCache* cache, ThreadBase* base) {
  int first = n;  // ips[first - 1] is the first managed frame, reached through CFI
  uintptr_t frame_at[kMaxWalk], caller_at[kMaxWalk];
  if (max > kMaxWalk) max = kMaxWalk;
  const uint32_t osr = osr_site_count();
  while (n < max && fp >= bounds.lo && fp + 16 <= bounds.hi && (fp & 7) == 0) {
    const uintptr_t* frame = reinterpret_cast<const uintptr_t*>(fp);
    uintptr_t next = frame[0];
    uintptr_t ret = frame[1];
    if (ret == 0) break;
    // A loop moved to optimized code (frame_walker.h, "On-stack replacement").
    if (__builtin_expect(osr != 0, 0) && is_osr_site(ret, osr)) ret = osr_caller_return(fp, next, ret, bounds.hi);
    if (base && fp == base->frame && next == base->caller && base->ret != 0 &&
        (ret == base->ret || modules.is_native(ret, cache))) {
      // The thread's outermost managed frame, the same activation (a native return address
      // in its slot is the runtime's GC hijack: the remembered one is the real one).
      ips[n++] = base->ret;
      return n;
    }
    frame_at[n] = fp;
    caller_at[n] = next;
    ips[n++] = ret;
    // A managed function without a frame pointer (ReadyToRun code): its caller's return address
    // from its frame (frame_walker.h), the chain goes on at the record's next.
    uintptr_t at = fp + 8;
    for (long k = modules.is_native(ret, cache) ? 0 : managed_frameless_cfa_offset(ret); k > 0 && n < max;) {
      uintptr_t slot = at + static_cast<uintptr_t>(k);
      if (slot + 8 > bounds.hi || (next > fp && slot + 8 > next)) break;
      uintptr_t outer = *reinterpret_cast<const uintptr_t*>(slot);
      if (outer == 0) break;
      frame_at[n] = 0;  // not a frame record: no base there
      caller_at[n] = 0;
      ips[n++] = outer;
      at = slot;
      k = modules.is_native(outer, cache) ? 0 : managed_frameless_cfa_offset(outer);
    }
    if (next <= fp) break;
    fp = next;
  }
  int outermost = n - 1;
  while (outermost > 0 && modules.is_native(ips[outermost], cache)) --outermost;
  if (base) {
    if (outermost >= first && n < max && frame_at[outermost] != 0)
      *base = ThreadBase{frame_at[outermost], ips[outermost], caller_at[outermost]};
    else *base = ThreadBase{};
  }
  return outermost + 1;
}

// The rule of the frame the cursor was at (its SP and BP given), read after the cursor
// stepped to the caller (stepped = unw_step's result).
Rule learn_rule(int stepped, unw_word_t sp, unw_word_t bp, unw_cursor_t* caller, const StackBounds& bounds) {
  Rule rule{kRuleSlow, 0, kRbpSame};
  if (stepped <= 0) {
    rule.kind = kRuleOutermost;
    return rule;
  }
  unw_word_t cfa = 0, caller_ip = 0, caller_bp = 0;
  unw_get_reg(caller, UNW_REG_SP, &cfa);
  unw_get_reg(caller, UNW_REG_IP, &caller_ip);
  unw_get_reg(caller, UNW_X86_64_RBP, &caller_bp);
  // A plain call frame: the return address at CFA - 8.
  if (!in_stack(cfa - 8, bounds) || *reinterpret_cast<const uintptr_t*>(cfa - 8) != caller_ip) return rule;
  unw_save_loc_t loc{};
  if (unw_get_save_loc(caller, UNW_X86_64_RBP, &loc) == 0 && loc.type == UNW_SLT_MEMORY) {
    int64_t off = static_cast<int64_t>(loc.u.addr) - static_cast<int64_t>(cfa);
    if (off <= -kFieldMax || off >= kFieldMax) return rule;
    rule.rbp_off = static_cast<int32_t>(off);
  } else if (caller_bp != bp) {
    return rule;  // RBP restored from somewhere else than memory
  }
  if (bp + 16 == cfa) {
    rule.kind = kRuleBp;
    rule.cfa_off = 16;
  } else if (cfa > sp && cfa - sp < static_cast<uint64_t>(kFieldMax)) {
    rule.kind = kRuleSp;
    rule.cfa_off = static_cast<int32_t>(cfa - sp);
  }
  return rule;
}

// The whole walk with libunwind, learning the rule of every native frame on the way.
__attribute__((noinline)) int slow_walk(uintptr_t* ips, int max, const StackBounds& bounds, uintptr_t skip_lo,
                                        uintptr_t skip_hi) {
  unw_context_t context;
  unw_cursor_t cursor;
  if (unw_getcontext(&context) != 0 || unw_init_local(&cursor, &context) != 0) return 0;
  const ModuleMap& modules = module_map();
  ModuleCache cache;
  int n = 0;
  if (unw_step(&cursor) <= 0) return 0;
  for (;;) {
    unw_word_t ip = 0, sp = 0, bp = 0;
    unw_get_reg(&cursor, UNW_REG_IP, &ip);
    if (ip == 0) break;
    if (ip >= skip_lo && ip < skip_hi) {
      if (unw_step(&cursor) <= 0) break;
      continue;
    }
    if (n >= max) break;
    ips[n++] = ip;
    unw_get_reg(&cursor, UNW_X86_64_RBP, &bp);
    if (!modules.is_native(ip, &cache)) return finish_managed(ips, n, max, bp, bounds, modules, &cache, nullptr);
    unw_get_reg(&cursor, UNW_REG_SP, &sp);
    int stepped = unw_step(&cursor);
    store_rule(ip, learn_rule(stepped, sp, bp, &cursor, bounds));
    if (stepped <= 0) break;
  }
  return n;
}

}  // namespace

void native_walker_init() { unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD); }

void native_walker_forget() {
  for (RuleSlot& slot : g_rules) {
    slot.value.store(0, std::memory_order_release);
    slot.ip.store(0, std::memory_order_release);
  }
}

int walk_native(uintptr_t* ips, int max, const StackBounds& bounds, uintptr_t skip_lo, uintptr_t skip_hi,
                ThreadBase* base, ModuleCache* cache) {
  ModuleCache local;
  if (!cache) cache = &local;
  // Our own frames keep frame pointers: follow them to the first frame outside the tracer.
  uintptr_t fp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  uintptr_t ip = 0, sp = 0, bp = 0;
  for (int guard = 0; guard < 64; ++guard) {
    if (fp < bounds.lo || fp + 16 > bounds.hi || (fp & 7) != 0) return slow_walk(ips, max, bounds, skip_lo, skip_hi);
    const uintptr_t* frame = reinterpret_cast<const uintptr_t*>(fp);
    uintptr_t ret = frame[1];
    if (ret >= skip_lo && ret < skip_hi) {
      if (frame[0] <= fp) return slow_walk(ips, max, bounds, skip_lo, skip_hi);
      fp = frame[0];
      continue;
    }
    ip = ret;
    sp = fp + 16;
    bp = frame[0];
    break;
  }
  if (ip == 0) return slow_walk(ips, max, bounds, skip_lo, skip_hi);
  const ModuleMap& modules = module_map();
  int n = 0;
  while (n < max) {
    ips[n++] = ip;
    if (!modules.is_native(ip, cache)) return finish_managed(ips, n, max, bp, bounds, modules, cache, base);
    Rule rule;
    if (!find_rule(ip, &rule) || rule.kind == kRuleSlow) return slow_walk(ips, max, bounds, skip_lo, skip_hi);
    if (rule.kind == kRuleOutermost) break;
    uintptr_t cfa = (rule.kind == kRuleSp ? sp : bp) + static_cast<intptr_t>(rule.cfa_off);
    if (cfa <= sp || !in_stack(cfa - 8, bounds)) return slow_walk(ips, max, bounds, skip_lo, skip_hi);
    uintptr_t next_ip = *reinterpret_cast<const uintptr_t*>(cfa - 8);
    uintptr_t next_bp = bp;
    if (rule.rbp_off != kRbpSame) {
      uintptr_t at = cfa + static_cast<intptr_t>(rule.rbp_off);
      if (!in_stack(at, bounds)) return slow_walk(ips, max, bounds, skip_lo, skip_hi);
      next_bp = *reinterpret_cast<const uintptr_t*>(at);
    }
    if (next_ip == 0) break;
    ip = next_ip;
    sp = cfa;
    bp = next_bp;
  }
  return n;
}

}  // namespace memnb
