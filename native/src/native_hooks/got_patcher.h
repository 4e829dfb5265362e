// Run-time GOT patching: rewrites the relocation slots (R_X86_64_JUMP_SLOT and
// R_X86_64_GLOB_DAT) that name given symbols in every loaded ELF object except the
// dynamic loader and the object holding the patcher, and puts the original values back.
// Slots in PT_GNU_RELRO (the .NET libraries are linked BIND_NOW + RELRO) are made
// writable for the write and read-only again afterwards. Never called from a hook's
// hot path: it takes the loader lock (dl_iterate_phdr) and a mutex.
#pragma once
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace memnb {

struct PatchTarget {
  const char* symbol;
  void* replacement;
};

class GotPatcher {
 public:
  // Points every slot naming a target at its replacement (slots already patched are left)
  // and enables patch_new. Returns the number of slots written.
  size_t patch_all(const PatchTarget* targets, size_t count);
  // The same for objects loaded since (after a dlopen), unless restore_all ran meanwhile:
  // a dlopen racing with the stop must not patch again what the stop restored.
  size_t patch_new(const PatchTarget* targets, size_t count);
  // Puts back the original value of every slot still pointing at a replacement, in the
  // objects loaded now (slots of unloaded objects are forgotten). Returns slots restored.
  size_t restore_all(const PatchTarget* targets, size_t count);
  // Objects whose path contains this are skipped too (tests patch their own executable
  // through a library; the default skips only the loader and ourselves).
  void set_self(const void* address_in_self);

 private:
  size_t walk(const PatchTarget* targets, size_t count, bool restore, bool only_if_enabled);

  std::mutex mutex_;
  bool enabled_ = false;  // between patch_all and restore_all (under mutex_)
  const void* self_ = nullptr;
  std::unordered_map<uintptr_t, uintptr_t> originals_;  // slot address -> value before patching
};

// Every slot naming `symbol` in one object, for tests: calls visit(slot) for each.
// `base` and `dynamic` as in dl_phdr_info (load bias and the PT_DYNAMIC address).
size_t find_relocation_slots(uintptr_t base, const void* dynamic, const char* symbol, uintptr_t* out, size_t max);

}  // namespace memnb
