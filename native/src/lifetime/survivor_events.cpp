#include "lifetime/survivor_events.h"

#include <cstring>

namespace memnb {

bool parse_survivor_ranges(uint32_t event_id, const uint8_t* data, size_t len, SurvivorRanges* out) {
  constexpr size_t kHeader = 4 + 4 + 2;
  size_t stride;
  if (event_id == kGcBulkMovedObjectRangesEventId)
    stride = 24;
  else if (event_id == kGcBulkSurvivingObjectRangesEventId)
    stride = 16;
  else
    return false;
  if (!data || len < kHeader) return false;
  uint32_t count;
  memcpy(&count, data + 4, sizeof count);
  if (len != kHeader + static_cast<size_t>(count) * stride) return false;
  out->moved = stride == 24;
  out->count = count;
  out->values = data + kHeader;
  return true;
}

}  // namespace memnb
