// scripts/rtsp_server.py as a child process of a test, on 127.0.0.1, stopped by PID.
#pragma once
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "test_util.h"

#ifndef VASDK_SOURCE_DIR
#error "tests/CMakeLists.txt defines VASDK_SOURCE_DIR for the tests that start the RTSP server"
#endif

extern char** environ;

namespace vas {
namespace testing {

// scripts/rtsp_server.py as a child process. The destructor kills it (SIGKILL also ends a
// stopped process), so a failing test never leaves a server behind.
class RtspServer {
 public:
  explicit RtspServer(std::filesystem::path log) : log_(std::move(log)) {}
  ~RtspServer() { kill_now(); }

  // Starts the server on `port` (0: any free port) and waits for its ready line. On failure
  // returns false and *error holds the server's own output (e.g. the packages it misses).
  bool start(int port, std::string* error, int channels = 1) {
    int out[2];
    if (pipe(out) != 0) return fail("pipe() failed", error);
    const std::string script = std::string(VASDK_SOURCE_DIR) + "/scripts/rtsp_server.py";
    const std::string input = asset("vtest.avi");
    std::vector<std::string> args = {
        "/usr/bin/python3", script, "--port",     std::to_string(port),
        "--input",          input,  "--channels", std::to_string(channels)};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    posix_spawn_file_actions_addclose(&actions, out[1]);
    // stderr to a file: GStreamer may log a lot, and nobody drains a pipe after start-up.
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    if (rc != 0) {
      close(out[0]);
      pid_ = -1;
      return fail("cannot run /usr/bin/python3: " + std::string(strerror(rc)) +
                      " (install python3-gi; see scripts/setup.sh)",
                  error);
    }
    // The first start transcodes vtest.avi once (several seconds on a busy machine).
    const std::chrono::steady_clock::time_point deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(120);
    std::string line;
    bool ready = false;
    while (!ready && std::chrono::steady_clock::now() < deadline) {
      pollfd p{out[0], POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char c = 0;
      const ssize_t n = ::read(out[0], &c, 1);
      if (n <= 0) break;  // the server exited
      if (c == '\n') {
        ready = line.rfind("rtsp_server ready ", 0) == 0;
        if (!ready) line.clear();
      } else {
        line += c;
      }
    }
    close(out[0]);
    if (!ready) {
      kill_now();
      return fail(
          "scripts/rtsp_server.py did not become ready; its output:\n" + read_file(log_.string()),
          error);
    }
    port_ = std::stoi(line.substr(std::string("rtsp_server ready ").size()));
    return true;
  }

  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  void freeze() { ::kill(pid_, SIGSTOP); }
  void thaw() { ::kill(pid_, SIGCONT); }
  int port() const { return port_; }
  std::string url(int channel = 0) const {
    return "rtsp://127.0.0.1:" + std::to_string(port_) + "/ch" + std::to_string(channel);
  }

 private:
  static bool fail(const std::string& message, std::string* error) {
    *error = message;
    return false;
  }
  std::filesystem::path log_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace testing
}  // namespace vas
