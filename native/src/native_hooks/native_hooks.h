// Native allocation tracking: the hooks expanded from hooked_symbols.h, installed by GOT
// patching while a recording with the "native" option runs.
#pragma once
#include <cstddef>
#include <cstdint>

namespace memnb {

class Recorder;

// Patches every loaded object (and, through the dlopen hook, every object loaded later)
// to call the hooks; records go to `recorder`. Returns the number of slots patched.
size_t install_native_hooks(Recorder* recorder);
// Restores the original slots. Hooks already running finish normally (the recorder
// quiesces them afterwards).
size_t uninstall_native_hooks();
bool native_hooks_installed();

// Bumped by the dlopen and dlclose hooks: the writer re-reads the module list when it changes.
uint64_t module_generation();

// The runtime's id of the calling thread (0 if none), for thread records of native-only
// threads; set by the profiler.
void set_native_thread_id_source(uint64_t (*source)());
uint64_t (*native_thread_id_source())();

// Tests: the address of the hook for a symbol of the list (nullptr if not hooked).
void* native_hook_address(const char* symbol);

}  // namespace memnb
