// Type and method names from the runtime's metadata, resolved on the writer thread.
#pragma once
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "clr/corprof.h"
#include "profiler/recorder.h"

namespace memnb {

std::string utf16_to_utf8(const char16_t* s, size_t n);

class RuntimeNames : public SymbolSource {
 public:
  explicit RuntimeNames(ICorProfilerInfo4* info) : info_(info) {}
  std::string type_name(uint64_t class_id) override;
  FrameDescription describe_frame(uint64_t ip) override;
  bool describe_module(uint64_t module_id, ManagedModuleDescription* out) override;
  uint64_t function_of(uint64_t ip) override;

 private:
  IMetaDataImport* metadata(ModuleID module);
  std::string typedef_name(ModuleID module, mdTypeDef td, int depth = 0);
  std::string module_name(ModuleID module);
  void find_il_offset(FunctionID function, ReJITID rejit, uint64_t ip, FrameDescription* f);
  ICorProfilerInfo9* info9();

  ICorProfilerInfo4* info_;
  ICorProfilerInfo9* info9_ = nullptr;
  bool info9_asked_ = false;
  std::vector<COR_DEBUG_IL_TO_NATIVE_MAP> il_map_;
  std::mutex mutex_;
  std::unordered_map<ModuleID, IMetaDataImport*> metadata_;
  std::unordered_map<ModuleID, std::string> module_names_;
  std::unordered_map<uint64_t, std::string> class_names_;
};

}  // namespace memnb
