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

class ModuleMap {
 public:
  // Re-reads the loaded objects (takes the loader lock: never call from a hook).
  void refresh();
  bool is_native(uint64_t ip) const;

 private:
  struct Snapshot {
    uint32_t count;
    ModuleRange ranges[1];
  };
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
