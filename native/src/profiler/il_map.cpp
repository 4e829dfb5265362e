#include "profiler/il_map.h"

namespace memnb {

bool il_offset_at(const COR_DEBUG_IL_TO_NATIVE_MAP* map, size_t count, uint64_t native_offset, uint32_t* il_offset) {
  constexpr ULONG32 kLastValid = 0xFFFFFFFCu;  // NO_MAPPING, PROLOG and EPILOG are above it
  constexpr ULONG32 kProlog = 0xFFFFFFFEu;
  const COR_DEBUG_IL_TO_NATIVE_MAP* best = nullptr;
  for (size_t m = 0; m < count; ++m) {
    const auto& e = map[m];
    if (e.nativeStartOffset > native_offset) continue;
    // The method's prolog (a funclet's starts further on, and stands for nothing) takes part as IL offset 0.
    bool method_prolog = e.ilOffset == kProlog && e.nativeStartOffset == 0;
    if (e.ilOffset > kLastValid && !method_prolog) continue;
    bool covers = native_offset < e.nativeEndOffset;
    bool best_covers = best && native_offset < best->nativeEndOffset;
    if (!best || (covers && !best_covers) || (covers == best_covers && e.nativeStartOffset >= best->nativeStartOffset)) best = &e;
  }
  if (!best) return false;
  *il_offset = best->ilOffset == kProlog ? 0 : best->ilOffset;
  return true;
}

}  // namespace memnb
