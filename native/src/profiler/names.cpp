#include "profiler/names.h"

#include <cxxabi.h>
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>

#include "profiler/il_map.h"
#include "writer/capture_writer.h"

namespace memnb {

std::string utf16_to_utf8(const char16_t* s, size_t n) {
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n && s[i]; ++i) {
    uint32_t c = s[i];
    if (c >= 0xD800 && c < 0xDC00 && i + 1 < n && s[i + 1] >= 0xDC00 && s[i + 1] < 0xE000) {
      c = 0x10000 + ((c - 0xD800) << 10) + (s[i + 1] - 0xDC00);
      ++i;
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

namespace {

const char* primitive_name(CorElementType t) {
  switch (t) {
    case ELEMENT_TYPE_BOOLEAN: return "System.Boolean";
    case ELEMENT_TYPE_CHAR: return "System.Char";
    case ELEMENT_TYPE_I1: return "System.SByte";
    case ELEMENT_TYPE_U1: return "System.Byte";
    case ELEMENT_TYPE_I2: return "System.Int16";
    case ELEMENT_TYPE_U2: return "System.UInt16";
    case ELEMENT_TYPE_I4: return "System.Int32";
    case ELEMENT_TYPE_U4: return "System.UInt32";
    case ELEMENT_TYPE_I8: return "System.Int64";
    case ELEMENT_TYPE_U8: return "System.UInt64";
    case ELEMENT_TYPE_R4: return "System.Single";
    case ELEMENT_TYPE_R8: return "System.Double";
    case ELEMENT_TYPE_I: return "System.IntPtr";
    case ELEMENT_TYPE_U: return "System.UIntPtr";
    case ELEMENT_TYPE_STRING: return "System.String";
    case ELEMENT_TYPE_OBJECT: return "System.Object";
    default: return "[unknown]";
  }
}

// "List`1" -> "List": the arguments are appended as <...> instead.
std::string strip_arity(const std::string& name) {
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '`') {
      while (i + 1 < name.size() && name[i + 1] >= '0' && name[i + 1] <= '9') ++i;
      continue;
    }
    out += name[i];
  }
  return out;
}

std::string base_name(const char* path) {
  const char* slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

}  // namespace

IMetaDataImport* RuntimeNames::metadata(ModuleID module) {
  auto it = metadata_.find(module);
  if (it != metadata_.end()) return it->second;
  IUnknown* unk = nullptr;
  IMetaDataImport* import = nullptr;
  if (info_->GetModuleMetaData(module, ofRead, IID_IMetaDataImport, &unk) == S_OK && unk) {
    import = static_cast<IMetaDataImport*>(unk);
  }
  metadata_[module] = import;
  return import;
}

std::string RuntimeNames::typedef_name(ModuleID module, mdTypeDef td, int depth) {
  IMetaDataImport* import = metadata(module);
  if (!import || depth > 16) return "[unknown]";
  WCHAR buf[1024];
  ULONG len = 0;
  DWORD flags = 0;
  mdToken extends = 0;
  if (import->GetTypeDefProps(td, buf, 1024, &len, &flags, &extends) != S_OK) return "[unknown]";
  std::string name = utf16_to_utf8(buf, len);
  if (IsTdNested(flags)) {
    mdTypeDef outer = 0;
    if (import->GetNestedClassProps(td, &outer) == S_OK && outer != 0) {
      return typedef_name(module, outer, depth + 1) + "+" + name;
    }
  }
  return name;
}

std::string RuntimeNames::type_name(uint64_t class_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = class_names_.find(class_id);
  if (it != class_names_.end()) return it->second;
  std::string name;
  CorElementType element = ELEMENT_TYPE_END;
  ClassID element_class = 0;
  ULONG rank = 0;
  if (info_->IsArrayClass(class_id, &element, &element_class, &rank) == S_OK) {
    mutex_.unlock();
    std::string inner = element_class ? type_name(element_class) : primitive_name(element);
    mutex_.lock();
    name = inner + (rank <= 1 ? "[]" : "[" + std::string(rank - 1, ',') + "]");
  } else {
    ModuleID module = 0;
    mdTypeDef td = 0;
    ClassID parent = 0;
    ULONG32 count = 0;
    ClassID args[32];
    if (info_->GetClassIDInfo2(class_id, &module, &td, &parent, 32, &count, args) != S_OK) {
      name = "[unknown]";
    } else {
      name = typedef_name(module, td);
      if (count > 0) {
        name = strip_arity(name) + "<";
        for (ULONG32 i = 0; i < count && i < 32; ++i) {
          if (i) name += ",";
          mutex_.unlock();
          name += type_name(args[i]);
          mutex_.lock();
        }
        name += ">";
      }
    }
  }
  class_names_[class_id] = name;
  return name;
}

std::string RuntimeNames::module_name(ModuleID module) {
  auto it = module_names_.find(module);
  if (it != module_names_.end()) return it->second;
  LPCBYTE base = nullptr;
  WCHAR buf[1024];
  ULONG len = 0;
  AssemblyID assembly = 0;
  std::string name;
  if (info_->GetModuleInfo(module, &base, 1024, &len, buf, &assembly) == S_OK) {
    std::string path = utf16_to_utf8(buf, len);
    name = base_name(path.c_str());
  }
  module_names_[module] = name;
  return name;
}

ICorProfilerInfo9* RuntimeNames::info9() {
  if (!info9_asked_) {
    info9_asked_ = true;
    void* p = nullptr;
    if (info_->QueryInterface(IID_ICorProfilerInfo9, &p) == S_OK) info9_ = static_cast<ICorProfilerInfo9*>(p);
  }
  return info9_;
}

// The IL offset of the call a return address follows: the native code version (tier) holding ip − 1 (a call
// may end its method), then the runtime's IL-to-native map of that version at ip. Leaves f->has_il false when any step fails (a dynamic
// method, code the runtime no longer knows, an ip with no IL position).
void RuntimeNames::find_il_offset(FunctionID function, ReJITID rejit, uint64_t ip, FrameDescription* f) {
  ICorProfilerInfo9* info = info9();
  if (!info) return;
  BOOL dynamic = 0;
  if (info->IsFunctionDynamic(function, &dynamic) != S_OK || dynamic) return;
  UINT_PTR starts[16];
  ULONG32 start_count = 0;
  if (info->GetNativeCodeStartAddresses(function, rejit, 16, &start_count, starts) != S_OK) return;
  const uint64_t at = ip - 1;  // the call instruction, not the one after it
  for (ULONG32 i = 0; i < start_count && i < 16; ++i) {
    COR_PRF_CODE_INFO ranges[4];
    ULONG32 range_count = 0;
    if (info->GetCodeInfo4(starts[i], 4, &range_count, ranges) != S_OK) continue;
    // Native offsets count through the code's ranges in order.
    uint64_t native_offset = 0;
    bool found = false;
    for (ULONG32 r = 0; r < range_count && r < 4; ++r) {
      if (at >= ranges[r].startAddress && at < ranges[r].startAddress + ranges[r].size) {
        native_offset += at - ranges[r].startAddress;
        found = true;
        break;
      }
      native_offset += ranges[r].size;
    }
    if (!found) continue;
    // The JIT maps a call site at its return address (the map entry of the call's IL starts after the call
    // instruction), as the runtime's own stack traces look it up: the offset of ip, not of ip − 1.
    native_offset += 1;
    ULONG32 count = 0;
    if (info->GetILToNativeMapping3(starts[i], 0, &count, nullptr) != S_OK || count == 0) return;
    il_map_.resize(count);
    if (info->GetILToNativeMapping3(starts[i], count, &count, il_map_.data()) != S_OK) return;
    if (!il_offset_at(il_map_.data(), count < il_map_.size() ? count : il_map_.size(), native_offset, &f->il_offset)) return;
    f->has_il = true;
    return;
  }
}

bool RuntimeNames::describe_module(uint64_t module_id, ManagedModuleDescription* out) {
  std::lock_guard<std::mutex> lock(mutex_);
  LPCBYTE base = nullptr;
  WCHAR buf[1024];
  ULONG len = 0;
  AssemblyID assembly = 0;
  DWORD flags = 0;
  if (info_->GetModuleInfo2(module_id, &base, 1024, &len, buf, &assembly, &flags) != S_OK) return false;
  std::string name = utf16_to_utf8(buf, len);
  if (flags & COR_PRF_MODULE_DISK) out->path = name;
  out->name = base_name(name.c_str());
  if (!(flags & COR_PRF_MODULE_DISK) && info9()) {
    DWORD size = 0;
    if (info9_->GetInMemorySymbolsLength(module_id, &size) == S_OK && size > 0 && size <= kMaxModuleSymbols) {
      out->symbols.resize(size);
      DWORD read = 0;
      if (info9_->ReadInMemorySymbols(module_id, 0, out->symbols.data(), size, &read) != S_OK || read != size) out->symbols.clear();
    }
  }
  return true;
}

FrameDescription RuntimeNames::describe_frame(uint64_t ip) {
  std::lock_guard<std::mutex> lock(mutex_);
  FrameDescription f;
  FunctionID function = 0;
  ReJITID rejit = 0;
  if (info_->GetFunctionFromIP2(reinterpret_cast<LPCBYTE>(ip), &function, &rejit) == S_OK && function) {
    ClassID cls = 0;
    ModuleID module = 0;
    mdToken token = 0;
    ULONG32 count = 0;
    if (info_->GetFunctionInfo2(function, 0, &cls, &module, &token, 0, &count, nullptr) == S_OK) {
      IMetaDataImport* import = metadata(module);
      WCHAR buf[1024];
      ULONG len = 0;
      mdTypeDef td = 0;
      DWORD attr = 0;
      const uint8_t* sig = nullptr;
      ULONG sig_len = 0, rva = 0;
      DWORD impl = 0;
      if (import && import->GetMethodProps(token, &td, buf, 1024, &len, &attr, &sig, &sig_len, &rva, &impl) == S_OK) {
        f.kind = kFrameManaged;
        f.function = typedef_name(module, td) + "." + utf16_to_utf8(buf, len);
        f.module = module_name(module);
        f.module_id = module;
        f.method_token = token;
        find_il_offset(function, rejit, ip, &f);
        return f;
      }
    }
  }
  Dl_info dl{};
  if (dladdr(reinterpret_cast<void*>(ip), &dl) && dl.dli_fname) {
    f.kind = kFrameNative;
    f.module = base_name(dl.dli_fname);
    f.offset = ip - reinterpret_cast<uint64_t>(dl.dli_fbase);
    if (dl.dli_sname) {
      int status = 0;
      char* demangled = abi::__cxa_demangle(dl.dli_sname, nullptr, nullptr, &status);
      f.function = status == 0 && demangled ? demangled : dl.dli_sname;
      free(demangled);
    }
    return f;
  }
  f.kind = kFrameUnknown;
  return f;
}

uint64_t RuntimeNames::function_of(uint64_t ip) {
  FunctionID function = 0;
  if (info_->GetFunctionFromIP(reinterpret_cast<LPCBYTE>(ip), &function) != S_OK) return 0;
  return function;
}

}  // namespace memnb
