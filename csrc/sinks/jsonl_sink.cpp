// JSON lines file sink with size-based rotation.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "sinks/backends.h"

namespace vas {
namespace {

std::string errno_text() { return std::strerror(errno); }

class JsonlBackend : public SinkBackend {
 public:
  explicit JsonlBackend(JsonlSinkConfig c) : c_(std::move(c)) {}
  ~JsonlBackend() override { disconnect(); }

  const char* type() const override { return "jsonl"; }

  Status connect(const std::atomic<bool>&) override {
    fd_ = ::open(c_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd_ < 0) return io_error("cannot open '" + c_.path + "': " + errno_text());
    // An existing file keeps its mode on open; results may be sensitive, so make it 0600.
    struct stat st {};
    if (fchmod(fd_, 0600) != 0 || fstat(fd_, &st) != 0) {
      const Status s = io_error("cannot set mode 0600 on '" + c_.path + "': " + errno_text());
      disconnect();
      return s;
    }
    size_ = static_cast<uint64_t>(st.st_size);
    return Status::ok();
  }

  void disconnect() override {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  SendResult send(const SinkMessage& m, std::string* error) override {
    if (m.json.find('\n') != std::string::npos) {
      *error =
          "message for channel '" + m.channel + "' kind '" + m.kind + "' is not one line of JSON";
      return SendResult::kFailed;
    }
    const uint64_t n = m.json.size() + 1;
    if (size_ > 0 && size_ + n > c_.max_bytes) {
      const Status st = rotate();
      if (!st.is_ok()) {
        *error = st.message();
        return SendResult::kConnectionLost;
      }
    }
    std::string line = m.json;
    line.push_back('\n');
    size_t off = 0;
    while (off < line.size()) {
      const ssize_t w = ::write(fd_, line.data() + off, line.size() - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        *error = "write to '" + c_.path + "' failed: " + errno_text();
        // A partial line would corrupt the file for readers: cut it off before retrying.
        if (off > 0 && ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
          *error += " (and the partial line could not be removed)";
        }
        return SendResult::kConnectionLost;
      }
      off += static_cast<size_t>(w);
    }
    if (c_.fsync) (void)::fsync(fd_);
    size_ += n;
    ++delivered_;
    return SendResult::kAccepted;
  }

  uint64_t take_delivered() override {
    const uint64_t d = delivered_;
    delivered_ = 0;
    return d;
  }

 private:
  Status rotate() {
    disconnect();
    const auto name = [&](int i) { return i == 0 ? c_.path : c_.path + "." + std::to_string(i); };
    // Keep max_files files in all: the oldest kept is path.(max_files - 1).
    const int keep = c_.max_files - 1;
    if (keep <= 0) {
      if (::unlink(c_.path.c_str()) != 0 && errno != ENOENT)
        return io_error("cannot remove '" + c_.path + "' for rotation: " + errno_text());
    } else {
      (void)::unlink(name(keep).c_str());
      for (int i = keep - 1; i >= 0; --i) {
        if (::rename(name(i).c_str(), name(i + 1).c_str()) != 0 && errno != ENOENT)
          return io_error("cannot rotate '" + name(i) + "': " + errno_text());
      }
    }
    std::atomic<bool> no_abort{false};
    return connect(no_abort);
  }

  const JsonlSinkConfig c_;
  int fd_ = -1;
  uint64_t size_ = 0;
  uint64_t delivered_ = 0;
};

}  // namespace

std::unique_ptr<SinkBackend> make_jsonl_backend(const JsonlSinkConfig& config) {
  return std::make_unique<JsonlBackend>(config);
}

std::string sink_path_component(const std::string& s) {
  std::string out;
  for (char ch : s) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
    out.push_back(ok ? ch : '_');
  }
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out;
}

}  // namespace vas
