// Which IL offset a native offset stands for in the runtime's IL-to-native map of a method's code.
#pragma once
#include <cstddef>
#include <cstdint>

#include "clr/corprof.h"

namespace memnb {

// The IL offset a native offset of a method's code stands for in the runtime's IL-to-native map of that code: the
// entry covering it; inside the prolog's entry IL offset 0, as the runtime's debugger maps it (MAPPING_PROLOG):
// optimized code often has no entry for IL offset 0 and counts the code of the method's first statement, up to the
// next entry, in its prolog; past the epilog or an unmapped stretch, the nearest mapped entry before it. False when
// there is none.
bool il_offset_at(const COR_DEBUG_IL_TO_NATIVE_MAP* map, size_t count, uint64_t native_offset, uint32_t* il_offset);

}  // namespace memnb
