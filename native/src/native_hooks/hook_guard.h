// The thread-local recursion guard of the native hooks. While it is held, a hooked
// function goes straight to the original: the tracer's own allocations (the writer
// thread, GC callbacks, stack walking, thread set-up) are never recorded.
#pragma once

namespace memnb {

extern __thread int t_hook_guard __attribute__((tls_model("initial-exec")));

class HookGuard {
 public:
  HookGuard() { ++t_hook_guard; }
  ~HookGuard() { --t_hook_guard; }
  HookGuard(const HookGuard&) = delete;
  HookGuard& operator=(const HookGuard&) = delete;
};

}  // namespace memnb
