// Shared by the recorder's translation units (session, GC callbacks, writer thread).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <ctime>

namespace memnb {
namespace recorder_internal {

constexpr size_t kTypeSlots = 1u << 18;
constexpr size_t kTypes = 1u << 17;
constexpr size_t kMaxFreesPerRecord = 8192;
constexpr size_t kMaxMetaChunk = 1u << 20;
// Nodes in one STACK_NODES record (a record is never split across meta chunks).
constexpr uint32_t kMaxNodesPerRecord = 4096;
constexpr size_t kGcChunkBytes = 4u << 20;

long futex(std::atomic<uint32_t>* word, int op, uint32_t value, const timespec* timeout);
uint64_t read_rss_bytes();

}  // namespace recorder_internal
}  // namespace memnb
