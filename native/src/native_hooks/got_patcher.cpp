#include "native_hooks/got_patcher.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>

namespace memnb {

namespace {

// The relocation tables and symbol tables of one loaded object, from its PT_DYNAMIC.
struct DynamicInfo {
  const ElfW(Rela)* jmprel = nullptr;
  size_t jmprel_bytes = 0;
  const ElfW(Rela)* rela = nullptr;
  size_t rela_bytes = 0;
  const ElfW(Sym)* symtab = nullptr;
  const char* strtab = nullptr;
  size_t strtab_bytes = 0;
};

// The loader relocates d_ptr in place for most objects, but not for every one (the vDSO,
// objects with a read-only dynamic section): an address below the load bias is relative.
uintptr_t absolute(uintptr_t base, uintptr_t value) { return value < base ? base + value : value; }

bool read_dynamic(uintptr_t base, const ElfW(Dyn)* dyn, DynamicInfo* out) {
  bool pltrel_is_rela = true;
  for (; dyn->d_tag != DT_NULL; ++dyn) {
    switch (dyn->d_tag) {
      case DT_JMPREL: out->jmprel = reinterpret_cast<const ElfW(Rela)*>(absolute(base, dyn->d_un.d_ptr)); break;
      case DT_PLTRELSZ: out->jmprel_bytes = dyn->d_un.d_val; break;
      case DT_PLTREL: pltrel_is_rela = dyn->d_un.d_val == DT_RELA; break;
      case DT_RELA: out->rela = reinterpret_cast<const ElfW(Rela)*>(absolute(base, dyn->d_un.d_ptr)); break;
      case DT_RELASZ: out->rela_bytes = dyn->d_un.d_val; break;
      case DT_SYMTAB: out->symtab = reinterpret_cast<const ElfW(Sym)*>(absolute(base, dyn->d_un.d_ptr)); break;
      case DT_STRTAB: out->strtab = reinterpret_cast<const char*>(absolute(base, dyn->d_un.d_ptr)); break;
      case DT_STRSZ: out->strtab_bytes = dyn->d_un.d_val; break;
      default: break;
    }
  }
  if (!pltrel_is_rela) out->jmprel = nullptr;  // x86-64 uses RELA only
  return out->symtab && out->strtab;
}

// Calls visit(slot, symbol index in targets) for every JUMP_SLOT / GLOB_DAT relocation of
// the object naming one of the target symbols.
template <typename Visit>
void for_each_slot(uintptr_t base, const ElfW(Dyn)* dynamic, const PatchTarget* targets, size_t count, Visit visit) {
  DynamicInfo info;
  if (!dynamic || !read_dynamic(base, dynamic, &info)) return;
  const ElfW(Rela)* tables[2] = {info.jmprel, info.rela};
  size_t sizes[2] = {info.jmprel_bytes, info.rela_bytes};
  for (int t = 0; t < 2; ++t) {
    if (!tables[t]) continue;
    size_t n = sizes[t] / sizeof(ElfW(Rela));
    for (size_t i = 0; i < n; ++i) {
      const ElfW(Rela)& r = tables[t][i];
      uint32_t type = ELF64_R_TYPE(r.r_info);
      if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) continue;
      uint32_t sym = ELF64_R_SYM(r.r_info);
      if (sym == 0) continue;
      uint32_t name_at = info.symtab[sym].st_name;
      if (info.strtab_bytes && name_at >= info.strtab_bytes) continue;
      const char* name = info.strtab + name_at;
      for (size_t k = 0; k < count; ++k) {
        if (strcmp(name, targets[k].symbol) == 0) {
          visit(base + r.r_offset, k);
          break;
        }
      }
    }
  }
}

struct RelroRange {
  uintptr_t start = 0;
  uintptr_t end = 0;
};

bool skipped_object(const dl_phdr_info* info, const void* self) {
  const char* name = info->dlpi_name ? info->dlpi_name : "";
  if (strstr(name, "ld-linux") || strstr(name, "/ld-") || strstr(name, "linux-vdso")) return true;
  // A sanitizer runtime's own slots are its business (test builds only).
  if (strstr(name, "libasan") || strstr(name, "libtsan") || strstr(name, "libubsan") || strstr(name, "liblsan")) return true;
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer builds: libc allocates while TSan sets a new thread up, before TSan's
  // state for the thread exists; a hook (instrumented code) there crashes. Leave libc alone.
  if (strstr(name, "/libc.so")) return true;
#endif
  // The object holding the tracer: its calls are the real functions.
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    uintptr_t at = reinterpret_cast<uintptr_t>(self);
    if (at >= start && at < start + ph.p_memsz) return true;
  }
  return false;
}

const ElfW(Dyn)* dynamic_of(const dl_phdr_info* info, RelroRange* relro) {
  const ElfW(Dyn)* dynamic = nullptr;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_DYNAMIC) dynamic = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + ph.p_vaddr);
    if (ph.p_type == PT_GNU_RELRO) {
      relro->start = info->dlpi_addr + ph.p_vaddr;
      relro->end = relro->start + ph.p_memsz;
    }
  }
  return dynamic;
}

// Writes one slot; RELRO pages are made writable for the write only.
bool write_slot(uintptr_t slot, uintptr_t value, const RelroRange& relro) {
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  bool protected_slot = slot >= relro.start && slot < relro.end;
  uintptr_t page_start = slot & ~(page - 1);
  if (protected_slot && mprotect(reinterpret_cast<void*>(page_start), page, PROT_READ | PROT_WRITE) != 0) return false;
  reinterpret_cast<std::atomic<uintptr_t>*>(slot)->store(value, std::memory_order_release);
  if (protected_slot) mprotect(reinterpret_cast<void*>(page_start), page, PROT_READ);
  return true;
}

struct WalkContext {
  std::mutex* mutex;
  const bool* enabled;  // null: always
  const PatchTarget* targets;
  size_t count;
  const void* self;
  std::unordered_map<uintptr_t, uintptr_t>* originals;
  size_t written;
  bool restore;
};

int visit_object(dl_phdr_info* info, size_t, void* data) {
  auto* ctx = static_cast<WalkContext*>(data);
  if (skipped_object(info, ctx->self)) return 0;
  // Taken inside the loader lock (dl_iterate_phdr holds it around the callback): the one lock
  // order there is. A dlopen from a library constructor patches while the loader lock is held.
  std::lock_guard<std::mutex> lock(*ctx->mutex);
  if (ctx->enabled && !*ctx->enabled) return 1;
  RelroRange relro;
  const ElfW(Dyn)* dynamic = dynamic_of(info, &relro);
  for_each_slot(info->dlpi_addr, dynamic, ctx->targets, ctx->count, [&](uintptr_t slot, size_t k) {
    uintptr_t current = reinterpret_cast<std::atomic<uintptr_t>*>(slot)->load(std::memory_order_acquire);
    uintptr_t replacement = reinterpret_cast<uintptr_t>(ctx->targets[k].replacement);
    if (ctx->restore) {
      auto it = ctx->originals->find(slot);
      if (current == replacement && it != ctx->originals->end() && write_slot(slot, it->second, relro)) ++ctx->written;
    } else if (current != replacement) {
      (*ctx->originals)[slot] = current;
      if (write_slot(slot, replacement, relro)) ++ctx->written;
    }
  });
  return 0;
}

}  // namespace

void GotPatcher::set_self(const void* address_in_self) { self_ = address_in_self; }

size_t GotPatcher::walk(const PatchTarget* targets, size_t count, bool restore, bool only_if_enabled) {
  const void* self = self_ ? self_ : reinterpret_cast<const void*>(&visit_object);
  WalkContext ctx{&mutex_, only_if_enabled ? &enabled_ : nullptr, targets, count, self, &originals_, 0, restore};
  dl_iterate_phdr(visit_object, &ctx);
  return ctx.written;
}

size_t GotPatcher::patch_all(const PatchTarget* targets, size_t count) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    enabled_ = true;
  }
  return walk(targets, count, false, false);
}

size_t GotPatcher::patch_new(const PatchTarget* targets, size_t count) { return walk(targets, count, false, true); }

size_t GotPatcher::restore_all(const PatchTarget* targets, size_t count) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    enabled_ = false;
  }
  size_t written = walk(targets, count, true, false);
  std::lock_guard<std::mutex> lock(mutex_);
  originals_.clear();
  return written;
}

size_t find_relocation_slots(uintptr_t base, const void* dynamic, const char* symbol, uintptr_t* out, size_t max) {
  PatchTarget target{symbol, nullptr};
  size_t n = 0;
  for_each_slot(base, static_cast<const ElfW(Dyn)*>(dynamic), &target, 1, [&](uintptr_t slot, size_t) {
    if (n < max) out[n] = slot;
    ++n;
  });
  return n;
}

}  // namespace memnb
