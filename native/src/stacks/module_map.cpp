#include "stacks/module_map.h"

#include <link.h>
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

ModuleMap& module_map() {
  static ModuleMap map;
  return map;
}

}  // namespace memnb
