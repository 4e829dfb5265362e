#include "stacks/r2r_unwind.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace memnb {

bool ImageView::readable(uint64_t offset, uint64_t length) const {
  if (offset > size || length > size - offset) return false;
  for (int i = 0; i < ranges; ++i)
    if (offset >= lo[i] && offset + length <= hi[i]) return true;
  return false;
}

bool ImageView::u16(uint64_t offset, uint16_t* out) const {
  if (!readable(offset, 2)) return false;
  memcpy(out, base + offset, 2);
  return true;
}

bool ImageView::u32(uint64_t offset, uint32_t* out) const {
  if (!readable(offset, 4)) return false;
  memcpy(out, base + offset, 4);
  return true;
}

namespace {

// UNWIND_INFO operations (the Windows x64 format, plus the runtime's own SET_FPREG_LARGE).
enum : uint8_t {
  kPushNonvol = 0,
  kAllocLarge = 1,
  kAllocSmall = 2,
  kSetFpreg = 3,
  kSaveNonvol = 4,
  kSaveNonvolFar = 5,
  kSaveXmm = 6,     // version 1 (version 2: an epilog description)
  kSaveXmmFar = 7,  // version 1
  kSaveXmm128 = 8,
  kSaveXmm128Far = 9,
  kPushMachframe = 10,
  kSetFpregLarge = 11,
};
constexpr uint8_t kChainInfo = 4;
constexpr uint8_t kRbp = 5;
constexpr int kMaxChain = 8;
constexpr uint64_t kMaxFrame = uint64_t{1} << 24;

}  // namespace

long unwind_cfa_offset(const ImageView& image, uint32_t unwind_rva, uint32_t offset) {
  uint64_t pushed = 0;  // bytes the prolog(s) moved the stack pointer by
  bool framed = false;
  bool whole = false;  // a chained-to (parent) prolog ran entirely before the part that chains to it
  uint64_t at = unwind_rva;
  for (int chain = 0; chain < kMaxChain; ++chain) {
    if (!image.readable(at, 4)) return kUnwindUnknown;
    const uint8_t* h = image.base + at;
    uint8_t version = h[0] & 7, flags = h[0] >> 3, prolog = h[1], count = h[2], frame_register = h[3] & 15;
    if (version != 1 && version != 2) return kUnwindUnknown;
    if (!image.readable(at + 4, uint64_t{count} * 2)) return kUnwindUnknown;
    const uint8_t* codes = h + 4;
    for (int i = 0; i < count;) {
      uint8_t code_offset = codes[2 * i], op = codes[2 * i + 1] & 15, info = codes[2 * i + 1] >> 4;
      // Inside the prolog only the operations done by then count (a call there is rare: a stack probe).
      bool done = whole || offset >= prolog || code_offset <= offset;
      int slots = 1;
      uint64_t moved = 0;
      switch (op) {
        case kPushNonvol:
          moved = 8;
          if (info == kRbp && done) framed = true;
          break;
        case kAllocLarge:
          if (info == 0) {
            slots = 2;
            if (i + 1 >= count) return kUnwindUnknown;
            uint16_t v;
            memcpy(&v, codes + 2 * (i + 1), 2);
            moved = uint64_t{v} * 8;
          } else if (info == 1) {
            slots = 3;
            if (i + 2 >= count) return kUnwindUnknown;
            uint32_t v;
            memcpy(&v, codes + 2 * (i + 1), 4);
            moved = v;
          } else {
            return kUnwindUnknown;
          }
          break;
        case kAllocSmall:
          moved = uint64_t{info} * 8 + 8;
          break;
        case kSetFpreg:
        case kSetFpregLarge:
          if (frame_register != kRbp) return kUnwindUnknown;
          if (op == kSetFpregLarge) slots = 3;
          if (done) framed = true;
          break;
        case kSaveNonvol:
        case kSaveNonvolFar:
          // RBP kept in the frame without being pushed: not the frame pointer, and not a value the
          // chain can follow.
          if (info == kRbp) return kUnwindUnknown;
          slots = op == kSaveNonvol ? 2 : 3;
          break;
        case kSaveXmm:
          if (version != 1) return kUnwindUnknown;
          slots = 2;
          break;
        case kSaveXmmFar:
          if (version != 1) return kUnwindUnknown;
          slots = 3;
          break;
        case kSaveXmm128:
          slots = 2;
          break;
        case kSaveXmm128Far:
          slots = 3;
          break;
        default:  // a machine frame (an interrupt's), or an operation not in the format
          return kUnwindUnknown;
      }
      if (i + slots > count) return kUnwindUnknown;
      if (done) pushed += moved;
      if (pushed > kMaxFrame) return kUnwindUnknown;
      i += slots;
    }
    if (!(flags & kChainInfo)) return framed ? kUnwindFramePointer : static_cast<long>(pushed + 8);
    // A chained part (cold code): a RUNTIME_FUNCTION of the part it continues follows the codes.
    uint32_t parent;
    if (!image.u32(at + 4 + ((uint64_t{count} + 1) & ~uint64_t{1}) * 2 + 8, &parent)) return kUnwindUnknown;
    at = parent;
    whole = true;
  }
  return kUnwindUnknown;
}

bool ready_to_run_image(const ImageView& view, ReadyToRunImage* out) {
  uint16_t mz, magic, machine;
  uint32_t pe_offset, signature, directories, cli, cli_size, header, header_size, rtr, sections;
  if (!view.u16(0, &mz) || mz != 0x5A4D) return false;
  if (!view.u32(0x3C, &pe_offset) || !view.u32(pe_offset, &signature) || signature != 0x00004550) return false;
  // x64, or x64 marked for another OS (the runtime's images for Linux: 0x8664 ^ 0x7B79).
  if (!view.u16(uint64_t{pe_offset} + 4, &machine)) return false;
  uint16_t os = machine ^ 0x8664;
  if (os != 0 && os != 0x7B79 && os != 0x4644 && os != 0xADC4 && os != 0x1993 && os != 0x1992) return false;
  uint64_t optional = uint64_t{pe_offset} + 24;
  if (!view.u16(optional, &magic) || magic != 0x20B) return false;  // PE32+
  if (!view.u32(optional + 108, &directories) || directories < 15) return false;
  if (!view.u32(optional + 112 + 14 * 8, &cli) || !view.u32(optional + 112 + 14 * 8 + 4, &cli_size) || cli_size < 72)
    return false;
  if (!view.u32(uint64_t{cli} + 64, &header) || !view.u32(uint64_t{cli} + 68, &header_size) || header_size < 16) return false;
  if (!view.u32(header, &rtr) || rtr != 0x00525452) return false;  // "RTR"
  if (!view.u32(uint64_t{header} + 12, &sections) || sections > 1024) return false;
  for (uint32_t i = 0; i < sections; ++i) {
    uint64_t at = uint64_t{header} + 16 + uint64_t{i} * 12;
    uint32_t type, rva, size;
    if (!view.u32(at, &type) || !view.u32(at + 4, &rva) || !view.u32(at + 8, &size)) return false;
    if (type != 102) continue;  // RuntimeFunctions
    if (size < 12 || !view.readable(rva, size)) return false;
    out->view = view;
    out->functions_rva = rva;
    out->functions = size / 12;
    out->header_rva = header;
    return true;
  }
  return false;
}

long ready_to_run_cfa_offset(const ReadyToRunImage& image, uint32_t rva) {
  if (rva == 0 || image.functions == 0) return kUnwindUnknown;
  // A return address may follow a call that ends its function: the function holds rva - 1.
  uint32_t code = rva - 1;
  const uint8_t* table = image.view.base + image.functions_rva;  // readable: checked when found
  uint32_t lo = 0, hi = image.functions;  // the first entry beginning after code
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    uint32_t begin;
    memcpy(&begin, table + uint64_t{mid} * 12, 4);
    if (begin <= code) lo = mid + 1;
    else hi = mid;
  }
  if (lo == 0) return kUnwindUnknown;
  uint32_t begin, end, unwind;
  memcpy(&begin, table + uint64_t{lo - 1} * 12, 4);
  memcpy(&end, table + uint64_t{lo - 1} * 12 + 4, 4);
  memcpy(&unwind, table + uint64_t{lo - 1} * 12 + 8, 4);
  if (code >= end) return kUnwindUnknown;
  return unwind_cfa_offset(image.view, unwind, rva - begin);
}

// ---------------------------------------------------------------- the mapped images

namespace {

struct Mapping {
  uintptr_t start = 0, end = 0;
  uint64_t offset = 0, device = 0, inode = 0;
  bool readable = false;
  bool special = false;  // no file: anonymous, [heap], /memfd:... (the runtime's double-mapped code)
};

// Calls f(mapping) for each line of /proc/self/maps until it returns false. Plain system calls into
// a fixed buffer (an allocation hook may be what asks).
template <typename F>
void for_each_mapping(F&& f) {
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[4096];
  char line[512];
  size_t used = 0;
  bool go = true;
  ssize_t n;
  while (go && (n = read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n && go; ++i) {
      if (buf[i] != '\n') {
        if (used < sizeof line - 1) line[used++] = buf[i];  // a long path is cut: only its start is read
        continue;
      }
      line[used] = 0;
      used = 0;
      // start-end perms offset major:minor inode path
      Mapping m;
      const char* p = line;
      auto hex = [&p](uint64_t* v) {
        const char* from = p;
        *v = 0;
        for (;; ++p) {
          int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
          if (d < 0) break;
          *v = (*v << 4) | static_cast<uint64_t>(d);
        }
        return p != from;
      };
      uint64_t start, end, major, minor, inode = 0;
      if (!hex(&start) || *p++ != '-' || !hex(&end) || *p++ != ' ') continue;
      m.start = start;
      m.end = end;
      m.readable = p[0] == 'r';
      while (*p && *p != ' ') ++p;
      if (*p++ != ' ' || !hex(&m.offset) || *p++ != ' ' || !hex(&major) || *p++ != ':' || !hex(&minor) || *p++ != ' ')
        continue;
      for (; *p >= '0' && *p <= '9'; ++p) inode = inode * 10 + static_cast<uint64_t>(*p - '0');
      while (*p == ' ') ++p;
      m.device = (major << 32) | minor;
      m.inode = inode;
      m.special = inode == 0 || *p != '/' || strncmp(p, "/memfd:", 7) == 0;
      go = f(m);
    }
  }
  close(fd);
}

struct Region {
  uintptr_t start, end;
  int image;  // -1: code of no image (JIT-compiled), or an image that is not ReadyToRun as expected
};

constexpr int kMaxRegions = 1024;
constexpr int kMaxImages = 128;
constexpr int kMaxFileMappings = 16;
Region g_regions[kMaxRegions];
int g_region_count = 0;
// What an image held when it was registered: its RTR header's start and its first function.
struct Registered {
  ReadyToRunImage image;
  uint8_t header[16];
  uint8_t first[12];
};
Registered g_images[kMaxImages];
int g_image_count = 0;
std::atomic<bool> g_busy{false};

// Reads without faulting (an unmapped or PROT_NONE page gives EFAULT). 1 read, 0 not readable,
// -1 the kernel does not allow it here.
int read_safely(uintptr_t at, void* out, size_t length) {
  iovec local{out, length};
  iovec remote{reinterpret_cast<void*>(at), length};
  ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
  if (n == static_cast<ssize_t>(length)) return 1;
  return n >= 0 || errno == EFAULT ? 0 : -1;
}

// Whether a registered image still holds what it held (an image of a collectible assembly may be
// unmapped, and other memory mapped at its place).
bool still_mapped(const Registered& r) {
  uintptr_t base = reinterpret_cast<uintptr_t>(r.image.view.base);
  uint8_t header[sizeof r.header], first[sizeof r.first];
  int a = read_safely(base + r.image.header_rva, header, sizeof header);
  int b = read_safely(base + r.image.functions_rva, first, sizeof first);
  if (a < 0 || b < 0) return true;  // cannot tell: images are unloaded rarely
  return a == 1 && b == 1 && memcmp(header, r.header, sizeof header) == 0 && memcmp(first, r.first, sizeof first) == 0;
}

void add_region(uintptr_t start, uintptr_t end, int image) {
  if (g_region_count < kMaxRegions) g_regions[g_region_count++] = Region{start, end, image};
}

// The image that `code` (in `target`, a mapping of a file) lies in, as the runtime mapped it: the
// file's headers (from a mapping of its offset 0) tell which section the code's file offset is in,
// so its RVA, so the image's base; the file's readable mappings inside the image are what may be
// read. -1 if it is not a ReadyToRun image as expected.
int register_image(uintptr_t code, const Mapping& target) {
  Mapping parts[kMaxFileMappings];
  int count = 0;
  for_each_mapping([&](const Mapping& m) {
    if (m.device == target.device && m.inode == target.inode && count < kMaxFileMappings) parts[count++] = m;
    return true;
  });
  const Mapping* headers = nullptr;
  for (int i = 0; i < count && !headers; ++i)
    if (parts[i].offset == 0 && parts[i].readable && parts[i].end - parts[i].start >= 4096) headers = &parts[i];
  if (!headers) return -1;
  ImageView file;  // the file's first page
  file.base = reinterpret_cast<const uint8_t*>(headers->start);
  file.size = 4096;
  file.ranges = 1;
  file.lo[0] = 0;
  file.hi[0] = 4096;
  uint16_t mz, sections, optional_size;
  uint32_t pe, image_size;
  if (!file.u16(0, &mz) || mz != 0x5A4D || !file.u32(0x3C, &pe)) return -1;
  if (!file.u16(uint64_t{pe} + 6, &sections) || !file.u16(uint64_t{pe} + 20, &optional_size)) return -1;
  if (!file.u32(uint64_t{pe} + 24 + 56, &image_size) || image_size == 0) return -1;
  uint64_t file_offset = target.offset + (code - target.start);
  uint64_t rva = 0;
  bool found = false;
  for (uint32_t s = 0; s < sections && !found; ++s) {
    uint64_t at = uint64_t{pe} + 24 + optional_size + uint64_t{s} * 40;
    uint32_t virtual_address, raw_size, raw_offset;
    if (!file.u32(at + 12, &virtual_address) || !file.u32(at + 16, &raw_size) || !file.u32(at + 20, &raw_offset))
      return -1;
    if (file_offset >= raw_offset && file_offset - raw_offset < raw_size) {
      rva = virtual_address + (file_offset - raw_offset);
      found = true;
    }
  }
  if (!found || rva >= image_size || rva > code) return -1;
  uintptr_t base = code - rva;
  ImageView view;
  view.base = reinterpret_cast<const uint8_t*>(base);
  view.size = image_size;
  for (int i = 0; i < count && view.ranges < ImageView::kMaxRanges; ++i) {
    if (!parts[i].readable || parts[i].end <= base || parts[i].start >= base + image_size) continue;
    uintptr_t lo = parts[i].start > base ? parts[i].start : base;
    uintptr_t hi = parts[i].end < base + image_size ? parts[i].end : base + image_size;
    view.lo[view.ranges] = lo - base;
    view.hi[view.ranges] = hi - base;
    ++view.ranges;
  }
  if (g_image_count >= kMaxImages) return -1;
  Registered& r = g_images[g_image_count];
  if (!ready_to_run_image(view, &r.image)) return -1;
  memcpy(r.header, view.base + r.image.header_rva, sizeof r.header);  // readable: checked by ready_to_run_image
  memcpy(r.first, view.base + r.image.functions_rva, sizeof r.first);
  add_region(base, base + image_size, g_image_count);
  return g_image_count++;
}

long answer_for(uintptr_t ret, int image_index) {
  if (image_index < 0) return kUnwindUnknown;
  const ReadyToRunImage& image = g_images[image_index].image;
  return ready_to_run_cfa_offset(image, static_cast<uint32_t>(ret - reinterpret_cast<uintptr_t>(image.view.base)));
}

}  // namespace

long managed_frame_cfa_offset(uintptr_t ret, bool* in_image) {
  while (g_busy.exchange(true, std::memory_order_acquire)) {
  }
  long answer = kUnwindUnknown;
  bool known = false, image_holds = false;
  for (int i = 0; i < g_region_count && !known; ++i) {
    Region& r = g_regions[i];
    if (ret < r.start || ret >= r.end) continue;
    if (r.image >= 0 && !still_mapped(g_images[r.image])) {
      r.start = r.end = 0;  // forgotten: the mapping there now is looked up again
      continue;
    }
    answer = answer_for(ret, r.image);
    image_holds = r.image >= 0;
    known = true;
  }
  if (!known) {
    // A mapping not seen before: an image loaded since, or more JIT-compiled code.
    Mapping target;
    bool found = false;
    for_each_mapping([&](const Mapping& m) {
      found = ret >= m.start && ret < m.end;
      if (found) target = m;
      return !found;
    });
    if (found) {
      int image = target.special || !target.readable ? -1 : register_image(ret, target);
      if (image < 0) {
        add_region(target.start, target.end, -1);
        answer = kUnwindUnknown;
      } else {
        answer = answer_for(ret, image);
        image_holds = true;
      }
    }
  }
  g_busy.store(false, std::memory_order_release);
  if (in_image) *in_image = image_holds;
  return answer;
}

}  // namespace memnb
