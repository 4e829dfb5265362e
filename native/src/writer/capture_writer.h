// The capture file: header, then chunks of one stream each (docs/capture-format.md).
// Used by the writer thread only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

struct ZSTD_CCtx_s;

namespace memnb {

constexpr char kCaptureMagic[8] = {'M', 'E', 'M', 'N', 'B', 'C', 'A', 'P'};
constexpr uint16_t kFormatVersion = 1;
constexpr uint32_t kChunkMagic = 0x4B4E4843;  // "CHNK"
constexpr uint32_t kMetaStream = 0;
constexpr uint32_t kGcStream = 1;

enum RecordTag : uint8_t {
  kTagAlloc = 0x01,
  kTagSampledAlloc = 0x04,
  kTagNativeAlloc = 0x02,
  kTagNativeFree = 0x03,
  kTagClock = 0x10,
  kTagType = 0x11,
  kTagStackNode = 0x12,
  kTagFrame = 0x13,
  kTagThread = 0x14,
  kTagThreadName = 0x15,
  kTagSnapshot = 0x16,
  kTagEnd = 0x17,
  kTagModule = 0x18,
  kTagManagedModule = 0x19,
  kTagModuleSymbols = 0x1A,
  kTagIlFrame = 0x1B,
  kTagStackNodes = 0x1C,
  kTagGcStart = 0x20,
  kTagGcEnd = 0x21,
  kTagSuspend = 0x22,
  kTagResume = 0x23,
  kTagFree = 0x24,
  kTagAggTable = 0x30,
};

constexpr uint16_t kFlagAggregated = 1;  // header flags: AGG_TABLE instead of ALLOC/FREE
constexpr uint16_t kFlagSampled = 4;     // bit 2: SAMPLED_ALLOC instead of ALLOC, no FREE
// SAMPLED_ALLOC's heap kind byte: bits 0-1 the heap (0 SOH, 1 LOH, 2 POH), bit 7 set when the
// object was recorded exactly (a LOH object from ObjectAllocated) rather than sampled.
constexpr uint8_t kHeapKindLarge = 1;
constexpr uint8_t kSampledExact = 0x80;
constexpr uint16_t kFlagNative = 2;      // NATIVE_ALLOC / NATIVE_FREE / MODULE records may appear
constexpr uint16_t kFlagIlFrames = 8;    // bit 3: MANAGED_MODULE / MODULE_SYMBOLS / IL_FRAME records may appear
// MODULE_SYMBOLS: the most bytes of in-memory symbols written for one module (a larger PDB is left out).
constexpr size_t kMaxModuleSymbols = 16u << 20;

class CaptureWriter {
 public:
  ~CaptureWriter();
  // Creates (or truncates) the file and writes the header.
  bool open(const char* path, uint32_t pid, uint64_t start_realtime_ns, uint16_t flags, std::string* error);
  // Compresses and appends one chunk. False once a write failed (disk full…); the
  // file then keeps every whole chunk written before.
  bool write_chunk(uint32_t stream, const uint8_t* data, size_t len);
  void close();

  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }
  uint64_t bytes_written() const { return bytes_written_; }
  int compression_level = 3;

 private:
  bool write_all(const uint8_t* data, size_t len);

  int fd_ = -1;
  ZSTD_CCtx_s* cctx_ = nullptr;
  std::vector<uint8_t> scratch_;
  bool failed_ = false;
  std::string error_;
  std::string path_;
  uint64_t bytes_written_ = 0;
};

}  // namespace memnb
