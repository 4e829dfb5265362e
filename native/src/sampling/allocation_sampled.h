// The runtime's AllocationSampled event (.NET 10, provider Microsoft-Windows-DotNETRuntime,
// keyword 0x80000000000, event id 303): one event for an object in which the runtime's
// per-byte Bernoulli trial (p = 1/102400) first succeeded (docs/design/features/
// RandomizedAllocationSampling.md in dotnet/runtime).
#pragma once
#include <cstddef>
#include <cstdint>

namespace memnb {

constexpr uint32_t kAllocationSampledEventId = 303;
constexpr uint64_t kAllocationSampledKeyword = 0x80000000000ull;
constexpr uint32_t kEventLevelInformational = 4;
// Mean bytes between two sampled bytes (1/p).
constexpr uint64_t kSamplingMeanBytes = 102400;

struct AllocationSample {
  uint32_t kind = 0;  // 0 small object heap, 1 LOH, 2 POH
  uint64_t type_id = 0;  // the MethodTable, which is the profiling API's ClassID
  uint64_t address = 0;
  uint64_t size = 0;  // the object's size (header and padding to a pointer multiple included)
  uint64_t sampled_byte_offset = 0;  // 0-based offset of the successful trial in the object
};

// Payload, version 0: AllocationKind u32, ClrInstanceID u16, TypeID pointer, TypeName
// (NUL-terminated UTF-16; CoreCLR 10.0.12 fills it, NativeAOT sends it empty), then -- in
// runtimes that send it (NativeAOT's FireEtwAllocationSampled) -- HeapIndex u32, then Address
// pointer, ObjectSize u64, SampledByteOffset u64 (measured on 10.0.12: no HeapIndex, 24 bytes
// after the name). The three last fields are read from the end, so both layouts parse; the
// name is not kept (the writer resolves TypeID like any ClassID). False when the payload has
// neither shape. No allocation, no locks: called from the event callback.
bool parse_allocation_sampled(const uint8_t* data, size_t len, AllocationSample* out);

}  // namespace memnb
