#include "profiler/attach_control.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstring>

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

// Records until the controller asks to stop or goes away.
void record_until_stopped() {
  if (memnb_start(g_request.output.c_str(), g_request.options.c_str()) != 0) {
    write_state(std::string("error ") + memnb_last_error());
    return;
  }
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

// The abstract socket an idle tracer listens on: "\0memnb-idle-<pid>" (attach_control.h).
socklen_t idle_address(sockaddr_un* address) {
  memset(address, 0, sizeof *address);
  address->sun_family = AF_UNIX;
  int n = snprintf(address->sun_path + 1, sizeof address->sun_path - 1, "memnb-idle-%d", static_cast<int>(getpid()));
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + static_cast<size_t>(n));
}

void reply(int fd, const std::string& line) {
  std::string text = line + "\n";
  ssize_t ignored = write(fd, text.data(), text.size());
  (void)ignored;
}

// Idle (the runtime kept the tracer loaded): waits for the next memnb attach, which finds the tracer mapped and
// connects here instead of asking the runtime to attach. Only a peer of this process's effective user is heard.
// Returns false when no listening socket can be made (the tracer then stays idle for good).
bool wait_for_next_request() {
  int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) return false;
  sockaddr_un address;
  socklen_t length = idle_address(&address);
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 || listen(listener, 1) != 0) {
    close(listener);
    return false;
  }
  for (;;) {
    int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      close(listener);
      return false;
    }
    ucred peer{};
    socklen_t peer_length = sizeof peer;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &peer_length) != 0 || peer.uid != geteuid()) {
      reply(fd, "error not the process's user");
      close(fd);
      continue;
    }
    std::string text;
    char buffer[1024];
    ssize_t n;
    while (text.size() < 65536 && (n = read(fd, buffer, sizeof buffer)) != 0) {
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      text.append(buffer, static_cast<size_t>(n));
    }
    bool present = false;
    std::string error;
    if (attach_request_parse(text.data(), static_cast<unsigned>(text.size()), &present, &error) && present) {
      reply(fd, "ok");
      close(fd);
      close(listener);  // while it records, a further attach finds nobody listening and is refused
      return true;
    }
    reply(fd, "error " + (present || !error.empty() ? error : std::string("an empty request")));
    close(fd);
  }
}

// A test hook: MEMNB_ATTACH_KEEP_LOADED=1 in the target's environment takes the path of a runtime that refuses
// to unload the tracer, without asking it.
bool keep_loaded_for_test() {
  const char* keep = getenv("MEMNB_ATTACH_KEEP_LOADED");
  return keep && strcmp(keep, "1") == 0;
}

// Records, then asks the runtime to unload the tracer; if it cannot, stays idle and records again for the next
// memnb attach.
void* control_main(void*) {
  HookGuard guard;  // nothing this thread allocates is recorded
  for (;;) {
    record_until_stopped();
    if (keep_loaded_for_test()) {
      write_state("idle kept loaded by MEMNB_ATTACH_KEEP_LOADED=1; a later memnb attach reuses it");
    } else {
      ICorProfilerInfo5* info = profiler_info();
      HRESULT hr = info ? info->RequestProfilerDetach(kDetachWaitMs) : E_FAIL;
      // Nothing runs in the tracer after this return: ProfilerDetachSucceeded joins this thread.
      if (hr == S_OK) return nullptr;
      char hex[16];
      snprintf(hex, sizeof hex, "0x%08X", static_cast<unsigned>(hr));
      write_state(std::string("idle the runtime refused to unload the tracer (") + hex + "); a later memnb attach reuses it");
    }
    if (!wait_for_next_request()) return nullptr;
  }
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
