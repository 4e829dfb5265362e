// The executable ranges of the loaded ELF objects, to tell native code (in a module)
// from managed code (JIT-compiled, or ReadyToRun images the runtime maps itself, which
// are not ELF objects). A snapshot is immutable; refresh() publishes a new one.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace memnb {

struct ModuleRange {
  uint64_t start;
  uint64_t end;
};

// A thread's last answers of is_native: the executable range and the gap between ranges
// that addresses were last found in, valid for one snapshot (snapshots are never unmapped, so
// the pointer tells them apart). A steady-state walk asks about the same few addresses.
struct ModuleCache {
  const void* snapshot = nullptr;
  uint64_t native_lo = 0, native_hi = 0;
  uint64_t other_lo = 0, other_hi = 0;
};

class ModuleMap {
 public:
  // Re-reads the loaded objects (takes the loader lock: never call from a hook).
  void refresh();
  bool is_native(uint64_t ip) const;
  // The same through the caller's cache (no lock, no allocation: for the hooks).
  bool is_native(uint64_t ip, ModuleCache* cache) const {
    if (cache->snapshot == current_.load(std::memory_order_acquire)) {
      if (ip - cache->native_lo < cache->native_hi - cache->native_lo) return true;
      if (ip - cache->other_lo < cache->other_hi - cache->other_lo) return false;
    }
    return lookup(ip, cache);
  }

 private:
  struct Snapshot {
    uint32_t count;
    ModuleRange ranges[1];
  };
  bool lookup(uint64_t ip, ModuleCache* cache) const;
  std::atomic<Snapshot*> current_{nullptr};
};

ModuleMap& module_map();

// A loaded ELF object as MODULE records describe it: path, load base, extent of its
// PT_LOAD segments from the base, GNU build-id as hex ("" if none).
struct LoadedModule {
  std::string path;
  uint64_t base;
  uint64_t size;
  std::string build_id;
};

// Takes the loader lock: never from an allocation hook.
std::vector<LoadedModule> loaded_modules();

}  // namespace memnb
