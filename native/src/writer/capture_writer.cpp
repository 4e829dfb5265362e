#include "writer/capture_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "common/hot_path_timing.h"

namespace memnb {

CaptureWriter::~CaptureWriter() { close(); }

bool CaptureWriter::open(const char* path, uint32_t pid, uint64_t start_realtime_ns, uint16_t flags, std::string* error) {
  // Owner only (less if the umask says so): a capture names the types, methods and files of the code.
  fd_ = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    *error = std::string("cannot create capture file '") + path + "': " + strerror(errno);
    return false;
  }
  path_ = path;
  cctx_ = ZSTD_createCCtx();
  uint8_t header[32] = {};
  memcpy(header, kCaptureMagic, 8);
  uint16_t version = kFormatVersion;
  memcpy(header + 8, &version, 2);
  memcpy(header + 10, &flags, 2);
  uint32_t header_size = 32;
  memcpy(header + 12, &header_size, 4);
  memcpy(header + 16, &pid, 4);
  memcpy(header + 24, &start_realtime_ns, 8);
  if (!write_all(header, sizeof header)) {
    *error = error_;
    return false;
  }
  return true;
}

bool CaptureWriter::write_all(const uint8_t* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::write(fd_, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      failed_ = true;
      error_ = "writing capture file '" + path_ + "' failed: " + strerror(errno);
      return false;
    }
    data += n;
    len -= static_cast<size_t>(n);
    bytes_written_ += static_cast<uint64_t>(n);
  }
  return true;
}

bool CaptureWriter::write_chunk(uint32_t stream, const uint8_t* data, size_t len) {
  if (failed_ || fd_ < 0) return false;
  if (len == 0) return true;
  constexpr size_t kHeader = 20;
  size_t bound = ZSTD_compressBound(len);
  scratch_.resize(kHeader + (bound > len ? bound : len));
  uint8_t codec = 0;
  size_t stored = len;
  if (cctx_) {
    TimedScope timed(TimedScope::kCompression);
    size_t z = ZSTD_compressCCtx(cctx_, scratch_.data() + kHeader, bound, data, len, compression_level);
    if (!ZSTD_isError(z) && z < len) {
      codec = 1;
      stored = z;
    }
  }
  if (codec == 0) memcpy(scratch_.data() + kHeader, data, len);
  uint32_t fields[4] = {kChunkMagic, stream, static_cast<uint32_t>(stored), static_cast<uint32_t>(len)};
  memcpy(scratch_.data(), fields, 16);
  uint8_t tail[4] = {codec, 0, 0, 0};
  memcpy(scratch_.data() + 16, tail, 4);
  // A chunk goes out in one write so a killed process leaves whole chunks or a cut tail.
  return write_all(scratch_.data(), kHeader + stored);
}

void CaptureWriter::close() {
  if (cctx_) ZSTD_freeCCtx(cctx_);
  cctx_ = nullptr;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace memnb
