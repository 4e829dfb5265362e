// DllGetClassObject and the class factory the runtime uses to create the profiler.
#include <atomic>

#include "profiler/profiler.h"

namespace memnb {
namespace {

constexpr HRESULT kClassNotAvailable = static_cast<HRESULT>(0x80040111);

struct Factory {
  void** vtable;
};

HRESULT factory_query_interface(void* self, REFIID iid, void** out) {
  if (iid == IID_IUnknown || iid == IID_IClassFactory) {
    *out = self;
    return S_OK;
  }
  *out = nullptr;
  return E_NOINTERFACE;
}
ULONG factory_add_ref(void*) { return 1; }
ULONG factory_release(void*) { return 1; }

HRESULT create_instance(void*, IUnknown* outer, REFIID iid, void** out) {
  if (outer) return CLASS_E_NOAGGREGATION;
  void* instance = profiler_instance();
  using QueryInterface = HRESULT (*)(void*, REFIID, void**);
  auto qi = reinterpret_cast<QueryInterface>((*static_cast<void***>(instance))[0]);
  return qi(instance, iid, out);
}

HRESULT lock_server(void*, BOOL) { return S_OK; }

void* g_factory_vtable[] = {
    reinterpret_cast<void*>(&factory_query_interface), reinterpret_cast<void*>(&factory_add_ref),
    reinterpret_cast<void*>(&factory_release),        reinterpret_cast<void*>(&create_instance),
    reinterpret_cast<void*>(&lock_server),
};
Factory g_factory{g_factory_vtable};

}  // namespace
}  // namespace memnb

extern "C" __attribute__((visibility("default"))) HRESULT DllGetClassObject(const CLSID& clsid, const IID& iid, void** out) {
  if (!out) return E_FAIL;
  *out = nullptr;
  if (!(clsid == memnb::kProfilerClsid)) return memnb::kClassNotAvailable;
  if (!(iid == IID_IClassFactory) && !(iid == IID_IUnknown)) return E_NOINTERFACE;
  *out = &memnb::g_factory;
  return S_OK;
}
