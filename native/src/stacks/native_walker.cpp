#include "stacks/native_walker.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "stacks/module_map.h"

namespace memnb {

void native_walker_init() { unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD); }

int walk_native(uintptr_t* ips, int max, const StackBounds& bounds, uintptr_t skip_lo, uintptr_t skip_hi) {
  unw_context_t context;
  unw_cursor_t cursor;
  if (unw_getcontext(&context) != 0 || unw_init_local(&cursor, &context) != 0) return 0;
  const ModuleMap& modules = module_map();
  int n = 0;
  while (n < max && unw_step(&cursor) > 0) {
    unw_word_t ip = 0;
    unw_get_reg(&cursor, UNW_REG_IP, &ip);
    if (ip == 0) break;
    if (ip >= skip_lo && ip < skip_hi) continue;
    ips[n++] = ip;
    if (modules.is_native(ip)) continue;
    // The first managed frame: JIT-compiled code has no CFI but keeps RBP chains. The
    // cursor holds this frame's RBP as its native callee restored it.
    unw_word_t bp = 0;
    unw_get_reg(&cursor, UNW_X86_64_RBP, &bp);
    uintptr_t fp = bp;
    while (n < max && fp >= bounds.lo && fp + 16 <= bounds.hi && (fp & 7) == 0) {
      const uintptr_t* frame = reinterpret_cast<const uintptr_t*>(fp);
      if (frame[1] == 0) break;
      ips[n++] = frame[1];
      if (frame[0] <= fp) break;
      fp = frame[0];
    }
    // Drop the host frames beyond the outermost managed one.
    int outermost = n - 1;
    while (outermost > 0 && modules.is_native(ips[outermost])) --outermost;
    return outermost + 1;
  }
  return n;
}

}  // namespace memnb
