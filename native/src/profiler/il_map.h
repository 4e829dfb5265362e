// Which IL offset a native offset stands for in the runtime's IL-to-native map of a method's code.
#pragma once
#include <cstddef>
#include <cstdint>

#include "clr/corprof.h"

namespace memnb {

// The IL offset a native offset of a method's code stands for in the runtime's IL-to-native map of that code: the
// entry covering it, else the nearest mapped entry before it (past the epilog, in an unmapped stretch). The method's
// prolog entry stands for IL offset 0, as the runtime's debugger maps it (MAPPING_PROLOG): optimized code often has
// no entry for IL offset 0 and counts the code of the first statements, calls included, in its prolog, or in an
// unmapped stretch right after it (inlined code). False when nothing at or before the offset stands for an IL offset.
bool il_offset_at(const COR_DEBUG_IL_TO_NATIVE_MAP* map, size_t count, uint64_t native_offset, uint32_t* il_offset);

}  // namespace memnb
