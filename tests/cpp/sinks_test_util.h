// Test helpers for the sink tests: temporary folders, a real mosquitto broker started on a free
// port of 127.0.0.1 and stopped by PID, and a libmosquitto subscriber that records messages.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "sinks/sink.h"

#ifdef VASDK_WITH_MOSQUITTO
#include <mosquitto.h>
#endif

namespace vas_test {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/vasdk_sinks_XXXXXX";
    const char* p = mkdtemp(tmpl);
    path_ = p ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline vas::SinkMessage msg(const std::string& channel, const std::string& kind, int i,
                            const std::string& pad = "") {
  vas::SinkMessage m;
  m.channel = channel;
  m.kind = kind;
  m.ts_us = 1700000000000000 + i;
  m.json = nlohmann::json{{"channel", channel}, {"kind", kind}, {"seq", i}, {"pad", pad}}.dump();
  return m;
}

// Records events from the sinks' threads.
struct Events {
  std::mutex mu;
  std::vector<vas::SinkEvent> list;
  vas::SinkEventCallback callback() {
    return [this](const vas::SinkEvent& e) {
      std::lock_guard<std::mutex> lock(mu);
      list.push_back(e);
    };
  }
  std::vector<vas::SinkEvent> snapshot() {
    std::lock_guard<std::mutex> lock(mu);
    return list;
  }
  // Waits up to timeout_ms for an event of `kind`; returns its cause ("" when none came).
  std::string wait(const std::string& kind, int timeout_ms, size_t nth = 1) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < until) {
      size_t seen = 0;
      for (const auto& e : snapshot()) {
        if (e.kind == kind && ++seen == nth) return e.cause.empty() ? "(no cause)" : e.cause;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return "";
  }
};

inline uint64_t dropped(const vas::SinkStats& s, const std::string& reason) {
  auto it = s.dropped_by_reason.find(reason);
  return it == s.dropped_by_reason.end() ? 0 : it->second;
}

// A backend that takes `delay_ms` per message and can fail its first connects or drop the
// connection once; it records its connect attempt times.

inline int file_mode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 0777);
}

inline std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);) out.push_back(line);
  return out;
}

inline int free_port() {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(s);
    return -1;
  }
  close(s);
  return ntohs(a.sin_port);
}

inline bool port_open(int port) {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(s);
  return ok;
}

inline std::string find_mosquitto() {
  for (const char* p : {"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/usr/bin/mosquitto",
                        "/usr/local/bin/mosquitto"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "";
}

inline const char* kNoBroker =
    "the mosquitto broker is not installed; scripts/setup.sh installs it (apt-get install "
    "mosquitto mosquitto-clients libmosquitto-dev)";

// A mosquitto broker on 127.0.0.1:port, configured by `extra` conf lines after the default
// plain listener. The conf, the log and (with keep_sessions()) the database live in `dir`.
class Broker {
 public:
  Broker(std::string dir, std::string extra = "") : dir_(std::move(dir)), extra_(std::move(extra)) {
    port_ = free_port();
  }
  ~Broker() { stop(SIGKILL); }
  int port() const { return port_; }

  // Before start(): persistence on, in `dir`, saved only by save() and at a clean exit, so a
  // broker killed with SIGKILL comes back with exactly the state of the last save(). Offline
  // persistent sessions keep every QoS 1 message (no queue limit).
  void keep_sessions() { persistent_ = true; }

  // Writes the database now (SIGUSR1) and waits until it is on disk (up to 5 s): mosquitto
  // writes a temporary file and renames it, so the file's existence means a complete save.
  bool save() {
    if (pid_ <= 0 || !persistent_) return false;
    const std::string db = dir_ + "/mosquitto.db";
    std::remove(db.c_str());
    kill(pid_, SIGUSR1);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < until) {
      if (access(db.c_str(), R_OK) == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  // Starts the broker and waits until it accepts connections (up to 5 s).
  bool start(int also_wait_port = 0) {
    const std::string exe = find_mosquitto();
    if (exe.empty() || port_ <= 0) return false;
    const std::string conf = dir_ + "/mosquitto.conf";
    {
      std::ofstream f(conf);
      const passwd* pw = getpwuid(getuid());
      // Run as ourselves: as root, mosquitto would otherwise switch to the "mosquitto" user and
      // could not read the test's private key files.
      if (pw) f << "user " << pw->pw_name << "\n";
      if (persistent_) {
        f << "persistence true\npersistence_location " << dir_ << "/\nautosave_interval 0\n"
          << "max_queued_messages 0\n";
      } else {
        f << "persistence false\n";
      }
      f << "allow_anonymous true\nlog_dest stderr\n";
      f << "listener " << port_ << " 127.0.0.1\n" << extra_;
    }
    const std::string log = dir_ + "/mosquitto.log";
    pid_ = fork();
    if (pid_ == 0) {
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      execl(exe.c_str(), exe.c_str(), "-c", conf.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < until) {
      if (port_open(port_) && (also_wait_port == 0 || port_open(also_wait_port))) return true;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  // Freezes the broker (SIGSTOP): connections stay open, nothing is read or acknowledged.
  void freeze() {
    if (pid_ > 0) kill(pid_, SIGSTOP);
  }

  void stop(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::string log() const {
    std::ifstream f(dir_ + "/mosquitto.log");
    return std::string(std::istreambuf_iterator<char>(f), {});
  }

 private:
  std::string dir_, extra_;
  int port_ = -1;
  pid_t pid_ = -1;
  bool persistent_ = false;
};

#ifdef VASDK_WITH_MOSQUITTO
// Subscribes to `topic` (QoS 1) with its own libmosquitto thread and records what arrives.
// With a `client_id` and clean_session false the session is persistent: the broker keeps the
// subscription and queues QoS 1 messages while the subscriber is away, and a later Subscriber
// with the same id receives them.
class Subscriber {
 public:
  struct Message {
    std::string topic, payload;
  };

  ~Subscriber() { stop(); }

  bool start(int port, const std::string& topic, const std::string& client_id = "",
             bool clean_session = true) {
    mosquitto_lib_init();
    mosq_ = mosquitto_new(client_id.empty() ? nullptr : client_id.c_str(), clean_session, this);
    if (!mosq_) return false;
    mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message* m) {
      auto* s = static_cast<Subscriber*>(self);
      std::lock_guard<std::mutex> lock(s->mu_);
      s->messages_.push_back(
          {m->topic, std::string(static_cast<const char*>(m->payload), m->payloadlen)});
      s->cv_.notify_all();
    });
    mosquitto_subscribe_callback_set(mosq_, [](mosquitto*, void* self, int, int, const int*) {
      auto* s = static_cast<Subscriber*>(self);
      std::lock_guard<std::mutex> lock(s->mu_);
      s->subscribed_ = true;
      s->cv_.notify_all();
    });
    if (mosquitto_connect(mosq_, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS) return false;
    if (mosquitto_subscribe(mosq_, nullptr, topic.c_str(), 1) != MOSQ_ERR_SUCCESS) return false;
    if (mosquitto_loop_start(mosq_) != MOSQ_ERR_SUCCESS) return false;
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return subscribed_; });
  }

  void stop() {
    if (!mosq_) return;
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, true);
    mosquitto_destroy(mosq_);
    mosq_ = nullptr;
  }

  // Waits until at least `n` messages arrived (or the timeout); returns a copy of them all.
  std::vector<Message> wait_for(size_t n, int timeout_ms) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                 [&] { return messages_.size() >= n; });
    return messages_;
  }

 private:
  mosquitto* mosq_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  bool subscribed_ = false;
  std::vector<Message> messages_;
};
#endif

}  // namespace vas_test
