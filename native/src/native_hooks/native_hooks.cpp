// The hooks. Discipline (docs/architecture.md): the recursion guard is taken before
// anything else; an allocation is recorded only after the original succeeded; a free is
// recorded before the original runs (so the address cannot be handed out again, and
// recorded by another thread, before its free is in a ring). Nothing here locks or
// allocates on the recording path: records go to the thread's ring.
#include "native_hooks/native_hooks.h"

#include <dlfcn.h>
#include <link.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "native_hooks/got_patcher.h"
#include "native_hooks/hook_guard.h"
#include "native_hooks/hooked_symbols.h"
#include "profiler/recorder.h"
#include "stacks/module_map.h"
#include "stacks/native_walker.h"

namespace memnb {

__thread int t_hook_guard __attribute__((tls_model("initial-exec"))) = 0;

namespace {

std::atomic<Recorder*> g_recorder{nullptr};
std::atomic<bool> g_installed{false};
std::atomic<uint64_t> g_module_generation{1};
GotPatcher g_patcher;
uintptr_t g_self_lo = 0, g_self_hi = 0;

// Executable extent of the object holding the tracer: its frames are not part of a stack.
void find_self() {
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void*>(&find_self), &info)) return;
  struct Range {
    uintptr_t base, lo, hi;
  } range{reinterpret_cast<uintptr_t>(info.dli_fbase), ~uintptr_t{0}, 0};
  dl_iterate_phdr(
      [](dl_phdr_info* object, size_t, void* data) {
        auto* r = static_cast<Range*>(data);
        if (object->dlpi_addr != r->base) return 0;
        for (int i = 0; i < object->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = object->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
          uintptr_t start = object->dlpi_addr + ph.p_vaddr;
          if (start < r->lo) r->lo = start;
          if (start + ph.p_memsz > r->hi) r->hi = start + ph.p_memsz;
        }
        return 1;
      },
      &range);
  g_self_lo = range.lo;
  g_self_hi = range.hi;
}

inline Recorder* active_recorder() {
  Recorder* rec = g_recorder.load(std::memory_order_relaxed);
  return rec && rec->recording() ? rec : nullptr;
}

// Called with the guard held: runs record(rec, ts, tsc) for the calling thread while recording, with the
// thread marked as inside a hook for the signal handlers that interrupt it. tsc, the record's time, is
// read first: the counter takes ~10 ns here, and read before the thread's state is looked up (and the
// block's stack walked) that wait overlaps them instead of holding up the encoding that needs it.
// (A block's time is read after the allocator returned it, a release's before the block goes back:
// the interval stays inside the block's life, whatever thread gets the address next.)
template <typename Record>
__attribute__((always_inline)) inline void record_in_hook(Record record) {
  Recorder* rec = active_recorder();
  if (!rec) return;
  uint64_t tsc = __rdtsc();
  ThreadState* ts = rec->thread_state(native_thread_id_source());
  if (!ts) return;
  ts->in_hook.store(1, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (rec->recording()) record(rec, ts, tsc);
  ts->in_hook.store(0, std::memory_order_release);
}

__attribute__((noinline)) void record_alloc(uint8_t allocator, void* address, size_t size) {
  record_in_hook([&](Recorder* rec, ThreadState* ts, uint64_t tsc) {
    uintptr_t ips[kMaxFrames];
    int depth = walk_native(ips, kMaxFrames, ts->bounds, g_self_lo, g_self_hi, &ts->base, &ts->modules);
    rec->record_native_alloc(ts, allocator, reinterpret_cast<uint64_t>(address), size, ips, depth, tsc);
  });
}

__attribute__((noinline)) void record_release(uint8_t kind, void* address, size_t size) {
  record_in_hook([&](Recorder* rec, ThreadState* ts, uint64_t tsc) {
    rec->record_native_free(ts, kind, reinterpret_cast<uint64_t>(address), size, tsc);
  });
}

// ------------------------------------------------------------------ the hooks

// The hooks that return a new block of `size` bytes: the original is called (alone when the
// thread is inside a hook already) and the block recorded.
template <NativeAllocator Kind, typename Original>
inline void* allocate_and_record(size_t size, Original original) {
  if (t_hook_guard) return original();
  HookGuard guard;
  void* p = original();
  if (p) record_alloc(Kind, p, size);
  return p;
}

void* hook_malloc(size_t size) { return allocate_and_record<kAllocMalloc>(size, [=] { return ::malloc(size); }); }

void* hook_calloc(size_t count, size_t size) {
  return allocate_and_record<kAllocCalloc>(count * size, [=] { return ::calloc(count, size); });
}

void* hook_realloc(void* ptr, size_t size) {
  if (t_hook_guard) return ::realloc(ptr, size);
  HookGuard guard;
  // realloc = free + alloc; the free goes first, before the block can be reused.
  if (ptr) record_release(kReleaseFree, ptr, 0);
  void* p = ::realloc(ptr, size);
  if (p) {
    record_alloc(kAllocRealloc, p, size);
  } else if (ptr && size != 0) {
    // Failed: the old block is still there.
    record_alloc(kAllocRealloc, ptr, malloc_usable_size(ptr));
  }
  return p;
}

void hook_free(void* ptr) {
  if (t_hook_guard || !ptr) return ::free(ptr);
  HookGuard guard;
  record_release(kReleaseFree, ptr, 0);
  ::free(ptr);
}

int hook_posix_memalign(void** out, size_t alignment, size_t size) {
  if (t_hook_guard) return ::posix_memalign(out, alignment, size);
  HookGuard guard;
  int result = ::posix_memalign(out, alignment, size);
  if (result == 0 && *out) record_alloc(kAllocPosixMemalign, *out, size);
  return result;
}

void* hook_aligned_alloc(size_t alignment, size_t size) {
  return allocate_and_record<kAllocAlignedAlloc>(size, [=] { return ::aligned_alloc(alignment, size); });
}

void* hook_memalign(size_t alignment, size_t size) {
  return allocate_and_record<kAllocMemalign>(size, [=] { return ::memalign(alignment, size); });
}

void* hook_valloc(size_t size) { return allocate_and_record<kAllocValloc>(size, [=] { return ::valloc(size); }); }

void* hook_pvalloc(size_t size) { return allocate_and_record<kAllocPvalloc>(size, [=] { return ::pvalloc(size); }); }

void* traced_mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  if (t_hook_guard) return ::mmap(addr, length, prot, flags, fd, offset);
  HookGuard guard;
  // MAP_FIXED replaces whatever was mapped there: that part is unmapped first.
  if ((flags & MAP_FIXED) && addr) record_release(kReleaseMunmap, addr, length);
  void* p = ::mmap(addr, length, prot, flags, fd, offset);
  // A PROT_NONE reservation is address space, not memory (the GC reserves ~256 GB so).
  if (p != MAP_FAILED && prot != PROT_NONE) record_alloc(kAllocMmap, p, length);
  return p;
}

void* hook_mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  return traced_mmap(addr, length, prot, flags, fd, offset);
}

void* hook_mmap64(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  return traced_mmap(addr, length, prot, flags, fd, offset);
}

int hook_munmap(void* addr, size_t length) {
  if (t_hook_guard) return ::munmap(addr, length);
  HookGuard guard;
  record_release(kReleaseMunmap, addr, length);
  return ::munmap(addr, length);
}

void patch_loaded_objects();

// dlopen searches the RPATH/RUNPATH (and $ORIGIN) of the object that called it, found
// from its return address; called from here, that would be the tracer. So a bare name
// is looked up as the loader would for the real caller: an object already loaded under
// that name first, then the caller's RPATH, LD_LIBRARY_PATH and RUNPATH directories
// (RTLD_DI_SERINFO of the caller); the cache and system directories, which are the same
// for every caller, are left to the real dlopen.
void* dlopen_as(const char* file, int mode, void* caller) {
  // A path, the main program, or a question about loaded objects only: nothing is searched.
  if (!file || strchr(file, '/') || (mode & RTLD_NOLOAD)) return ::dlopen(file, mode);
  if (void* loaded = ::dlopen(file, mode | RTLD_NOLOAD)) return loaded;
  Dl_info info{};
  link_map* caller_map = nullptr;
  if (caller && dladdr1(caller, &info, reinterpret_cast<void**>(&caller_map), RTLD_DL_LINKMAP) && caller_map) {
    void* caller_handle = ::dlopen(caller_map->l_name && *caller_map->l_name ? caller_map->l_name : nullptr,
                                   RTLD_LAZY | RTLD_NOLOAD);
    Dl_serinfo size_info;
    if (caller_handle && dlinfo(caller_handle, RTLD_DI_SERINFOSIZE, &size_info) == 0 && size_info.dls_size > 0) {
      std::string buffer(size_info.dls_size, '\0');
      auto* search = reinterpret_cast<Dl_serinfo*>(&buffer[0]);
      search->dls_size = size_info.dls_size;
      search->dls_cnt = size_info.dls_cnt;
      if (dlinfo(caller_handle, RTLD_DI_SERINFO, search) == 0) {
        for (unsigned i = 0; i < search->dls_cnt; ++i) {
          const Dl_serpath& dir = search->dls_serpath[i];
          if (dir.dls_flags & (LA_SER_CONFIG | LA_SER_DEFAULT)) continue;
          std::string path = std::string(dir.dls_name) + "/" + file;
          if (access(path.c_str(), F_OK) != 0) continue;
          if (void* handle = ::dlopen(path.c_str(), mode)) {
            dlclose(caller_handle);
            return handle;
          }
        }
      }
    }
    if (caller_handle) dlclose(caller_handle);
  }
  return ::dlopen(file, mode);
}

void* hook_dlopen(const char* file, int mode) {
  void* caller = __builtin_return_address(0);
  void* handle;
  {
    HookGuard guard;
    handle = dlopen_as(file, mode, caller);
  }
  if (handle && g_installed.load(std::memory_order_acquire)) {
    HookGuard guard;
    module_map().refresh();
    patch_loaded_objects();
    g_module_generation.fetch_add(1, std::memory_order_release);
    if (Recorder* rec = active_recorder()) rec->modules_changed();
  }
  return handle;
}

int hook_dlclose(void* handle) {
  int result;
  {
    HookGuard guard;
    result = ::dlclose(handle);
  }
  if (g_installed.load(std::memory_order_acquire)) {
    HookGuard guard;
    native_walker_forget();
    module_map().refresh();
    g_module_generation.fetch_add(1, std::memory_order_release);
  }
  return result;
}

const PatchTarget kTargets[] = {
#define MEMNB_TARGET(name, ret, params, args) {#name, reinterpret_cast<void*>(&hook_##name)},
    MEMNB_HOOKED_SYMBOLS(MEMNB_TARGET)
#undef MEMNB_TARGET
};
constexpr size_t kTargetCount = sizeof(kTargets) / sizeof(kTargets[0]);

void patch_loaded_objects() { g_patcher.patch_new(kTargets, kTargetCount); }

uint64_t (*g_thread_id_source)() = nullptr;

}  // namespace

void set_native_thread_id_source(uint64_t (*source)()) { g_thread_id_source = source; }
uint64_t (*native_thread_id_source())() { return g_thread_id_source; }

size_t install_native_hooks(Recorder* recorder) {
  HookGuard guard;
  static bool initialised = [] {
    native_walker_init();
    find_self();
    return true;
  }();
  (void)initialised;
  g_patcher.set_self(reinterpret_cast<const void*>(&find_self));
  module_map().refresh();
  g_recorder.store(recorder, std::memory_order_release);
  g_installed.store(true, std::memory_order_release);
  g_module_generation.fetch_add(1, std::memory_order_release);
  return g_patcher.patch_all(kTargets, kTargetCount);
}

size_t uninstall_native_hooks() {
  HookGuard guard;
  if (!g_installed.exchange(false, std::memory_order_acq_rel)) return 0;
  return g_patcher.restore_all(kTargets, kTargetCount);
}

bool native_hooks_installed() { return g_installed.load(std::memory_order_acquire); }

uint64_t module_generation() { return g_module_generation.load(std::memory_order_acquire); }

void* native_hook_address(const char* symbol) {
  for (const PatchTarget& t : kTargets)
    if (strcmp(t.symbol, symbol) == 0) return t.replacement;
  return nullptr;
}

}  // namespace memnb
