// Best-shot store: JPEG files with retention, and the claim check for the other sinks.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

#include "sinks/backends.h"

namespace vas {
namespace {

namespace fs = std::filesystem;

std::string errno_text() { return std::strerror(errno); }

// mkdir with mode 0700 (umask can only take bits away; chmod makes it exact when we create it).
Status make_private_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0) {
    if (::chmod(path.c_str(), 0700) != 0)
      return io_error("cannot set mode 0700 on '" + path + "': " + errno_text());
    return Status::ok();
  }
  if (errno != EEXIST) return io_error("cannot create folder '" + path + "': " + errno_text());
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return io_error("'" + path + "' exists and is not a folder");
  // An existing folder is made private too: the images may show people.
  if ((st.st_mode & 0777) != 0700 && ::chmod(path.c_str(), 0700) != 0)
    return io_error("cannot set mode 0700 on '" + path + "': " + errno_text());
  return Status::ok();
}

class BestShotBackend : public SinkBackend {
 public:
  BestShotBackend(BestShotStoreConfig c, std::function<void(SinkMessage)> forward)
      : c_(std::move(c)), forward_(std::move(forward)) {}

  const char* type() const override { return "best_shot"; }

  // Never fails: a folder that cannot be made now is retried with every image, and each
  // failure goes on to the other sinks as "image_error", so events are never held back.
  Status connect(const std::atomic<bool>&) override {
    if (make_root().is_ok()) {
      rescan();
      enforce_retention();
    }
    return Status::ok();
  }

  void disconnect() override {}

  SendResult send(const SinkMessage& m, std::string* error) override {
    SinkMessage out = m;
    out.image.clear();
    nlohmann::json j = nlohmann::json::parse(m.json, nullptr, false);
    if (!j.is_object()) {
      *error = "best-shot message for channel '" + m.channel + "' is not a JSON object";
      return SendResult::kFailed;
    }
    std::string path;
    const Status st = m.image.empty() ? Status::ok() : store(m, &path);
    if (st.is_ok() && !m.image.empty()) {
      j["image_path"] = path;
      j["image_bytes"] = m.image.size();
      ++delivered_;
    } else if (!st.is_ok()) {
      j["image_error"] = st.message();
    }
    out.json = j.dump();
    if (forward_) forward_(std::move(out));
    if (!st.is_ok()) {
      *error = st.message();
      return SendResult::kFailed;
    }
    if (m.image.empty()) ++delivered_;
    return SendResult::kAccepted;
  }

  Status service() override {
    // Age limits apply even when no new image arrives; checking once a second is plenty.
    const auto now = std::chrono::steady_clock::now();
    if (c_.max_age_s > 0 && now - last_age_check_ > std::chrono::seconds(1)) {
      last_age_check_ = now;
      enforce_retention();
    }
    return Status::ok();
  }

  uint64_t take_delivered() override {
    const uint64_t d = delivered_;
    delivered_ = 0;
    return d;
  }

 private:
  struct Entry {
    std::string path;
    uint64_t bytes;
    int64_t wall_us;
  };

  // Creates the missing parents of dir, then dir itself, all private.
  Status make_root() {
    if (root_ready_) return Status::ok();
    std::error_code ec;
    std::vector<fs::path> missing;
    for (fs::path p = fs::path(c_.dir); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
      missing.push_back(p);
      if (p == p.parent_path()) break;
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it)
      VAS_RETURN_IF_ERROR(make_private_dir(it->string()));
    VAS_RETURN_IF_ERROR(make_private_dir(c_.dir));
    root_ready_ = true;
    return Status::ok();
  }

  Status store(const SinkMessage& m, std::string* path) {
    VAS_RETURN_IF_ERROR(make_root());
    const std::string folder = c_.dir + "/" + sink_path_component(m.channel);
    VAS_RETURN_IF_ERROR(make_private_dir(folder));
    const int64_t ts = m.ts_us > 0 ? m.ts_us : sink_wall_us();
    const std::string name = std::to_string(ts) + "-" + std::to_string(++seq_) + ".jpg";
    *path = folder + "/" + name;
    const std::string tmp = folder + "/." + name + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return io_error("cannot create '" + tmp + "': " + errno_text());
    size_t off = 0;
    while (off < m.image.size()) {
      const ssize_t w = ::write(fd, m.image.data() + off, m.image.size() - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        const Status s = io_error("cannot write '" + tmp + "': " + errno_text());
        ::close(fd);
        ::unlink(tmp.c_str());
        return s;
      }
      off += static_cast<size_t>(w);
    }
    if (::fchmod(fd, 0600) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), path->c_str()) != 0) {
      const Status s = io_error("cannot store '" + *path + "': " + errno_text());
      ::unlink(tmp.c_str());
      return s;
    }
    entries_.push_back({*path, m.image.size(), sink_wall_us()});
    total_bytes_ += m.image.size();
    enforce_retention();
    return Status::ok();
  }

  // Rebuilds the index from the files on disk (oldest first), so limits hold across restarts.
  void rescan() {
    entries_.clear();
    total_bytes_ = 0;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(c_.dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it.depth() > 1 || !it->is_regular_file(ec)) continue;
      const fs::path& p = it->path();
      if (p.extension() != ".jpg" || p.filename().string().front() == '.') continue;
      struct stat st {};
      if (::stat(p.c_str(), &st) != 0) continue;
      const int64_t us =
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000 + st.st_mtim.tv_nsec / 1000;
      entries_.push_back({p.string(), static_cast<uint64_t>(st.st_size), us});
      total_bytes_ += static_cast<uint64_t>(st.st_size);
    }
    std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
      return a.wall_us != b.wall_us ? a.wall_us < b.wall_us : a.path < b.path;
    });
  }

  void enforce_retention() {
    const int64_t now = sink_wall_us();
    const auto over = [&] {
      if (entries_.empty()) return false;
      if (c_.max_count > 0 && static_cast<int64_t>(entries_.size()) > c_.max_count) return true;
      if (c_.max_bytes > 0 && total_bytes_ > static_cast<uint64_t>(c_.max_bytes)) return true;
      return c_.max_age_s > 0 && now - entries_.front().wall_us > c_.max_age_s * 1e6;
    };
    while (over()) {
      const Entry& e = entries_.front();
      if (::unlink(e.path.c_str()) != 0 && errno != ENOENT) {
        last_delete_error_ = "cannot delete '" + e.path + "': " + errno_text();
      }
      total_bytes_ -= e.bytes;
      entries_.pop_front();
    }
  }

  const BestShotStoreConfig c_;
  std::function<void(SinkMessage)> forward_;
  std::deque<Entry> entries_;  // oldest first
  uint64_t total_bytes_ = 0;
  uint64_t seq_ = 0;
  bool root_ready_ = false;
  uint64_t delivered_ = 0;
  std::string last_delete_error_;
  std::chrono::steady_clock::time_point last_age_check_;
};

}  // namespace

std::unique_ptr<SinkBackend> make_best_shot_backend(const BestShotStoreConfig& config,
                                                    std::function<void(SinkMessage)> forward) {
  return std::make_unique<BestShotBackend>(config, std::move(forward));
}

}  // namespace vas
