#include "stacks/module_map.h"

#include <link.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <algorithm>
#include <vector>

namespace memnb {

void ModuleMap::refresh() {
  std::vector<ModuleRange> ranges;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* out = static_cast<std::vector<ModuleRange>*>(data);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
            uint64_t start = info->dlpi_addr + ph.p_vaddr;
            out->push_back({start, start + ph.p_memsz});
          }
        }
        return 0;
      },
      &ranges);
  std::sort(ranges.begin(), ranges.end(), [](const ModuleRange& a, const ModuleRange& b) { return a.start < b.start; });
  size_t bytes = sizeof(Snapshot) + ranges.size() * sizeof(ModuleRange);
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return;
  auto* snap = static_cast<Snapshot*>(mem);
  snap->count = static_cast<uint32_t>(ranges.size());
  std::copy(ranges.begin(), ranges.end(), snap->ranges);
  // Old snapshots are never unmapped: a hook may still be reading one (a few KiB each,
  // refreshed only when modules load).
  current_.store(snap, std::memory_order_release);
}

bool ModuleMap::is_native(uint64_t ip) const {
  const Snapshot* snap = current_.load(std::memory_order_acquire);
  if (!snap) return false;
  uint32_t lo = 0, hi = snap->count;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (snap->ranges[mid].end <= ip) lo = mid + 1;
    else hi = mid;
  }
  return lo < snap->count && snap->ranges[lo].start <= ip && ip < snap->ranges[lo].end;
}

bool ModuleMap::lookup(uint64_t ip, ModuleCache* cache) const {
  const Snapshot* snap = current_.load(std::memory_order_acquire);
  if (!snap) return false;
  if (cache->snapshot != snap) *cache = ModuleCache{snap, 0, 0, 0, 0};
  uint32_t lo = 0, hi = snap->count;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (snap->ranges[mid].end <= ip) lo = mid + 1;
    else hi = mid;
  }
  if (lo < snap->count && snap->ranges[lo].start <= ip) {
    cache->native_lo = snap->ranges[lo].start;
    cache->native_hi = snap->ranges[lo].end;
    return true;
  }
  // The gap around ip: from the end of the range below it to the start of the one above.
  cache->other_lo = lo > 0 ? snap->ranges[lo - 1].end : 0;
  cache->other_hi = lo < snap->count ? snap->ranges[lo].start : ~uint64_t{0};
  return false;
}

// The GNU build-id note of a loaded object, as hex ("" if it has none).
namespace {

std::string build_id_of(const dl_phdr_info* info) {
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    const uint8_t* at = reinterpret_cast<const uint8_t*>(info->dlpi_addr + ph.p_vaddr);
    const uint8_t* end = at + ph.p_memsz;
    while (at + sizeof(ElfW(Nhdr)) <= end) {
      const auto* note = reinterpret_cast<const ElfW(Nhdr)*>(at);
      const uint8_t* name = at + sizeof(ElfW(Nhdr));
      const uint8_t* desc = name + ((note->n_namesz + 3) & ~3u);
      if (desc + note->n_descsz > end) break;
      if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
        std::string hex;
        for (uint32_t k = 0; k < note->n_descsz; ++k) {
          hex += kHex[desc[k] >> 4];
          hex += kHex[desc[k] & 15];
        }
        return hex;
      }
      at = desc + ((note->n_descsz + 3) & ~3u);
    }
  }
  return std::string();
}

}  // namespace

std::vector<LoadedModule> loaded_modules() {
  std::vector<LoadedModule> out;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* list = static_cast<std::vector<LoadedModule>*>(data);
        uint64_t lo = ~uint64_t{0}, hi = 0;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD) continue;
          lo = std::min<uint64_t>(lo, info->dlpi_addr + ph.p_vaddr);
          hi = std::max<uint64_t>(hi, info->dlpi_addr + ph.p_vaddr + ph.p_memsz);
        }
        if (hi == 0) return 0;
        std::string path = info->dlpi_name ? info->dlpi_name : "";
        if (path.empty()) {
          // The executable: its path from /proc.
          char buf[4096];
          ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
          if (n > 0) path.assign(buf, static_cast<size_t>(n));
        }
        list->push_back({path, info->dlpi_addr, hi - info->dlpi_addr, build_id_of(info)});
        return 0;
      },
      &out);
  return out;
}


ModuleMap& module_map() {
  static ModuleMap map;
  return map;
}

}  // namespace memnb
