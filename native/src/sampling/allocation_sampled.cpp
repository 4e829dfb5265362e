#include "sampling/allocation_sampled.h"

#include <cstring>

namespace memnb {

namespace {
template <typename T>
T load(const uint8_t* p) {
  T v;
  memcpy(&v, p, sizeof v);
  return v;
}
}  // namespace

bool parse_allocation_sampled(const uint8_t* data, size_t len, AllocationSample* out) {
  constexpr size_t kNameAt = 4 + 2 + 8;
  constexpr size_t kTail = 8 + 8 + 8;
  if (!data || len < kNameAt + 2 + kTail) return false;
  size_t at = kNameAt;
  while (at + 2 <= len && load<uint16_t>(data + at) != 0) at += 2;
  if (at + 2 > len) return false;
  at += 2;
  size_t rest = len - at;
  if (rest != kTail && rest != kTail + 4) return false;
  const uint8_t* tail = data + len - kTail;
  out->kind = load<uint32_t>(data);
  out->type_id = load<uint64_t>(data + 6);
  out->address = load<uint64_t>(tail);
  out->size = load<uint64_t>(tail + 8);
  out->sampled_byte_offset = load<uint64_t>(tail + 16);
  return out->size != 0 && out->sampled_byte_offset < out->size;
}

}  // namespace memnb
