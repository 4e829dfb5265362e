// LEB128 varints and zigzag, as docs/capture-format.md specifies.
#pragma once
#include <cstddef>
#include <cstdint>

namespace memnb {

constexpr size_t kMaxVarintBytes = 10;

inline uint8_t* put_varint(uint8_t* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<uint8_t>(v) | 0x80;
    v >>= 7;
  }
  *p++ = static_cast<uint8_t>(v);
  return p;
}

inline uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

inline uint8_t* put_svarint(uint8_t* p, int64_t v) { return put_varint(p, zigzag(v)); }

// Decoding is for tests only; returns nullptr on overflow or end of input.
inline const uint8_t* get_varint(const uint8_t* p, const uint8_t* end, uint64_t* out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70 && p < end; shift += 7) {
    uint8_t b = *p++;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return p;
    }
  }
  return nullptr;
}

inline int64_t unzigzag(uint64_t v) { return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1)); }

}  // namespace memnb
