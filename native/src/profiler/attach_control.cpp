#include "profiler/attach_control.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>

#include "native_hooks/hook_guard.h"
#include "profiler/profiler.h"

extern "C" int memnb_start(const char* path, const char* options);
extern "C" int memnb_stop(void);
extern "C" const char* memnb_last_error(void);

namespace memnb {

namespace {

struct Request {
  std::string output, options, control;
  pid_t controller = 0;
};

Request g_request;
bool g_requested = false;
pthread_t g_thread;
std::atomic<bool> g_thread_started{false};

constexpr int kPollMs = 20;
// The runtime's detach thread first sleeps this long, then checks that no thread is in a callback.
constexpr DWORD kDetachWaitMs = 100;

void write_state(const std::string& line) {
  if (g_request.control.empty()) return;
  std::string path = g_request.control + "/state";
  std::string temporary = path + ".tmp";
  int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  std::string text = line + "\n";
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  if (ok) rename(temporary.c_str(), path.c_str());
}

bool exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

void sleep_ms(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// Records until the controller asks to stop or goes away, then asks the runtime to unload the tracer.
void* control_main(void*) {
  HookGuard guard;  // nothing this thread allocates is recorded
  if (memnb_start(g_request.output.c_str(), g_request.options.c_str()) != 0) {
    write_state(std::string("error ") + memnb_last_error());
  } else {
    write_state("recording");
    std::string stop = g_request.control + "/stop";
    for (;;) {
      sleep_ms(kPollMs);
      if (exists(stop) || !exists(g_request.control)) break;
      if (g_request.controller > 0 && kill(g_request.controller, 0) != 0 && errno == ESRCH) break;
    }
    // The process may be exiting: Shutdown stops the recording then, and this finds it stopped.
    if (memnb_stop() != 0 && std::string(memnb_last_error()) != "not recording")
      write_state(std::string("stopped ") + memnb_last_error());
    else
      write_state("stopped");
  }
  ICorProfilerInfo5* info = profiler_info();
  HRESULT hr = info ? info->RequestProfilerDetach(kDetachWaitMs) : E_FAIL;
  if (hr != S_OK) {
    char hex[16];
    snprintf(hex, sizeof hex, "0x%08X", static_cast<unsigned>(hr));
    write_state(std::string("idle the runtime refused to unload the tracer (") + hex + ")");
  }
  // Nothing runs in the tracer after this return: ProfilerDetachSucceeded joins this thread.
  return nullptr;
}

}  // namespace

bool attach_request_parse(const void* data, unsigned size, bool* present, std::string* error) {
  *present = false;
  if (!data || size == 0) return true;
  std::string text(static_cast<const char*>(data), size);
  size_t at = 0;
  bool header = false;
  Request request;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    std::string line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
    at = end == std::string::npos ? text.size() : end + 1;
    if (!header) {
      if (line != "memnb-attach 1") {
        *error = "the attach request is not a memnb-attach 1 request";
        return false;
      }
      header = true;
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "output") request.output = value;
    else if (key == "options") request.options = value;
    else if (key == "control") request.control = value;
    else if (key == "controller") request.controller = static_cast<pid_t>(strtol(value.c_str(), nullptr, 10));
  }
  if (!header || request.output.empty() || request.control.empty() || request.output[0] != '/' ||
      request.control[0] != '/') {
    *error = "the attach request lacks an absolute output or control path";
    return false;
  }
  g_request = request;
  g_requested = true;
  *present = true;
  return true;
}

void attach_request_begin() {
  if (!g_requested || g_thread_started.load()) return;
  HookGuard guard;
  if (pthread_create(&g_thread, nullptr, &control_main, nullptr) == 0) {
    g_thread_started.store(true);
  } else {
    write_state("error the tracer could not start its control thread");
  }
}

void attach_request_detached() {
  if (g_thread_started.exchange(false)) pthread_join(g_thread, nullptr);
  write_state("detached");
  g_requested = false;
  g_request = Request{};
}

}  // namespace memnb
