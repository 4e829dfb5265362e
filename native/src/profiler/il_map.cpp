#include "profiler/il_map.h"

namespace memnb {

bool il_offset_at(const COR_DEBUG_IL_TO_NATIVE_MAP* map, size_t count, uint64_t native_offset, uint32_t* il_offset) {
  constexpr ULONG32 kLastValid = 0xFFFFFFFCu;  // NO_MAPPING, PROLOG and EPILOG are above it
  constexpr ULONG32 kProlog = 0xFFFFFFFEu;
  const COR_DEBUG_IL_TO_NATIVE_MAP* best = nullptr;
  bool in_prolog = false;
  for (size_t m = 0; m < count; ++m) {
    const auto& e = map[m];
    if (e.nativeStartOffset > native_offset) continue;
    if (e.ilOffset == kProlog) {
      in_prolog = in_prolog || native_offset < e.nativeEndOffset;
      continue;
    }
    if (e.ilOffset > kLastValid) continue;
    bool covers = native_offset < e.nativeEndOffset;
    bool best_covers = best && native_offset < best->nativeEndOffset;
    if (!best || (covers && !best_covers) || (covers == best_covers && e.nativeStartOffset >= best->nativeStartOffset)) best = &e;
  }
  if (in_prolog && !(best && native_offset < best->nativeEndOffset)) {
    *il_offset = 0;
    return true;
  }
  if (!best) return false;
  *il_offset = best->ilOffset;
  return true;
}

}  // namespace memnb
