// The runtime's event provider as the profiler's own EventPipe sessions name it (sampling/, and
// the survivor session), and the interface that starts them.
#pragma once
#include "clr/corprof.h"
#include "profiler/profiler.h"

namespace memnb {

inline constexpr WCHAR kRuntimeProvider[] = {'M', 'i', 'c', 'r', 'o', 's', 'o', 'f', 't', '-', 'W', 'i', 'n', 'd',
                                             'o', 'w', 's', '-', 'D', 'o', 't', 'N', 'E', 'T', 'R', 'u', 'n',
                                             't', 'i', 'm', 'e', 0};

// The profiler's ICorProfilerInfo12 (the caller releases it); null without the profiler or on a
// runtime before .NET 5.
inline ICorProfilerInfo12* profiler_info12() {
  ICorProfilerInfo5* info5 = profiler_info();
  void* raw = nullptr;
  if (!info5 || info5->QueryInterface(IID_ICorProfilerInfo12, &raw) != S_OK) return nullptr;
  return static_cast<ICorProfilerInfo12*>(raw);
}

}  // namespace memnb
