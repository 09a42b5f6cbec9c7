#include "engine/auto_backend.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "core/config_reader.h"
#include "core/file_io.h"

namespace vas {
namespace {

using Clock = std::chrono::steady_clock;

// Stable across builds and platforms (std::hash is not): the cache outlives the binary.
struct Fnv1a64 {
  uint64_t h = 1469598103934665603ULL;
  void add(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  }
  void add(const std::string& s) { add(s.data(), s.size()); }
  std::string hex() const {
    char buf[17];
    std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
    return buf;
  }
};

Result<std::string> model_hash(const std::string& path, const void* data, size_t size) {
  Fnv1a64 f;
  if (data != nullptr) {
    f.add(data, size);
    return f.hex() + ":" + std::to_string(size);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("model file '" + path + "' does not exist or cannot be read");
  std::vector<char> buf(size_t{1} << 20);
  size_t total = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<size_t>(in.gcount());
    f.add(buf.data(), n);
    total += n;
  }
  return f.hex() + ":" + std::to_string(total);
}

// The CPU as it matters for speed: its name, its ISA flags (x86 "flags", ARM "Features") and
// the cores this process may use.
std::string cpu_identity() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, name, flags;
  while (std::getline(in, line) && (name.empty() || flags.empty())) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string field = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (name.empty() && (field == "model name" || field == "CPU part")) name = value;
    if (flags.empty() && (field == "flags" || field == "Features")) flags = value;
  }
  Fnv1a64 f;
  f.add(flags);
  return (name.empty() ? "unknown cpu" : name) + " / " +
         std::to_string(std::thread::hardware_concurrency()) + " cores / isa " + f.hex();
}

std::string cache_key(const std::string& model, const EngineOptions& o,
                      const std::vector<AutoCandidate>& candidates) {
  std::ostringstream k;
  k << "model " << model << "\ncpu " << cpu_identity();
  for (const auto& c : candidates) k << "\n" << c.backend << " " << c.version;
  k << "\nthreads " << o.threads << " spinning " << o.spinning << " memory_pattern "
    << o.memory_pattern << " arena " << o.arena << " optimization " << o.optimization
    << " providers";
  for (const auto& p : o.providers) k << " " << p;
  k << "\nprecision_hint " << o.precision_hint << " performance_hint " << o.performance_hint
    << " streams " << o.streams << " infer_requests " << o.infer_requests;
  for (const auto& s : o.probe_shapes) k << "\nprobe " << shape_to_string(s);
  return k.str();
}

// `dir` exists as a directory that only we may read: created 0700, or tightened to 0700 when
// we own it. Anything else (another owner, not a directory) is not used.
Status private_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status(StatusCode::kIoError, "cannot create '" + dir + "': " + std::strerror(errno));
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status(StatusCode::kIoError, "'" + dir + "' is not a directory");
  }
  if (st.st_uid != ::geteuid()) {
    return Status(StatusCode::kIoError, "'" + dir + "' belongs to another user");
  }
  if ((st.st_mode & 077) != 0 && ::chmod(dir.c_str(), 0700) != 0) {
    return Status(StatusCode::kIoError, "cannot make '" + dir + "' private");
  }
  return Status::ok();
}

Result<std::string> cache_file(const std::string& key) {
  const std::string root = vasdk_cache_dir();
  if (root.empty()) return Status(StatusCode::kIoError, "no cache directory (HOME is not set)");
  // The parents are created as needed; only vasdk's own folders are made private.
  for (size_t pos = 1; (pos = root.find('/', pos)) != std::string::npos; ++pos) {
    ::mkdir(root.substr(0, pos).c_str(), 0755);
  }
  VAS_RETURN_IF_ERROR(private_dir(root));
  const std::string dir = root + "/backends";
  VAS_RETURN_IF_ERROR(private_dir(dir));
  Fnv1a64 f;
  f.add(key);
  return dir + "/auto-" + f.hex() + ".json";
}

struct Choice {
  std::string backend;
  std::vector<std::pair<std::string, double>> median_ms;  // per candidate measured
};

// A cached choice for exactly this key, if any (a damaged or foreign file is ignored).
bool read_choice(const std::string& file, const std::string& key, Choice* out) {
  std::string text;
  if (!read_file_bytes(file, &text)) return false;
  auto doc = parse_config_json(text, "auto backend cache");
  if (!doc.is_ok()) return false;
  const nlohmann::json& j = doc.value();
  if (!j.is_object() || j.value("key", std::string()) != key) return false;
  if (!j.contains("backend") || !j["backend"].is_string()) return false;
  out->backend = j["backend"].get<std::string>();
  if (j.contains("median_ms") && j["median_ms"].is_object()) {
    for (const auto& [name, ms] : j["median_ms"].items()) {
      if (ms.is_number()) out->median_ms.emplace_back(name, ms.get<double>());
    }
  }
  return true;
}

Status write_choice(const std::string& file, const std::string& key, const Choice& c) {
  nlohmann::json j;
  j["key"] = key;
  j["backend"] = c.backend;
  for (const auto& [name, ms] : c.median_ms) j["median_ms"][name] = ms;
  char when[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
  j["measured_utc"] = when;
  // Written whole under a unique name, then renamed: concurrent creators never see half a file.
  const std::string tmp = file + ".tmp" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status(StatusCode::kIoError, "cannot write '" + tmp + "'");
  const std::string text = j.dump(2) + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status(StatusCode::kIoError, "cannot write '" + file + "'");
  }
  return Status::ok();
}

// Inputs for timing runs: a constant (not zeros, which some kernels shortcut) in the declared
// shapes, with dynamic dims from options.probe_shapes or, for the batch dim alone, 1.
Status probe_inputs(const Engine& e, const EngineOptions& o, std::vector<Tensor>* storage,
                    std::vector<TensorView>* views) {
  const auto& ins = e.inputs();
  storage->resize(ins.size());
  for (size_t i = 0; i < ins.size(); ++i) {
    std::vector<int64_t> shape = ins[i].shape;
    if (i < o.probe_shapes.size() && o.probe_shapes[i].size() == shape.size()) {
      for (size_t d = 0; d < shape.size(); ++d) {
        if (shape[d] < 0) shape[d] = o.probe_shapes[i][d];
      }
    }
    if (!shape.empty() && shape[0] < 0) shape[0] = 1;
    for (int64_t d : shape) {
      if (d <= 0) {
        return unsupported("input '" + ins[i].name + "' has dynamic dims " +
                           shape_to_string(ins[i].shape) + " and no probe shape");
      }
    }
    Tensor& t = (*storage)[i];
    t.reshape(ins[i].dtype, shape);
    if (ins[i].dtype == DataType::kFloat32) {
      std::fill(t.as<float>(), t.as<float>() + element_count(shape), 0.5f);
    } else {
      std::memset(t.data(), 1, t.byte_size());
    }
    views->push_back(t.view());
  }
  return Status::ok();
}

// Median latency per engine, runs interleaved round by round after one warm-up each: at least
// 3 rounds, then up to 7 while under 2 s in all.
Result<std::vector<double>> measure(const std::vector<Engine*>& engines, const EngineOptions& o) {
  std::vector<std::vector<Tensor>> storage(engines.size());
  std::vector<std::vector<TensorView>> inputs(engines.size());
  std::vector<std::vector<Tensor>> outputs(engines.size());
  for (size_t e = 0; e < engines.size(); ++e) {
    VAS_RETURN_IF_ERROR(probe_inputs(*engines[e], o, &storage[e], &inputs[e]));
    VAS_RETURN_IF_ERROR(
        engines[e]
            ->run(inputs[e], &outputs[e])
            .with_context("auto backend: warm-up run on " + engines[e]->backend_name()));
  }
  std::vector<std::vector<double>> ms(engines.size());
  const Clock::time_point start = Clock::now();
  for (int round = 0; round < 7; ++round) {
    if (round >= 3 && Clock::now() - start > std::chrono::seconds(2)) break;
    for (size_t e = 0; e < engines.size(); ++e) {
      const Clock::time_point t0 = Clock::now();
      VAS_RETURN_IF_ERROR(engines[e]->run(inputs[e], &outputs[e]));
      ms[e].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
  }
  std::vector<double> medians;
  medians.reserve(ms.size());
  for (auto& v : ms) {
    std::sort(v.begin(), v.end());
    medians.push_back(v[v.size() / 2]);
  }
  return medians;
}

std::string timings_text(const Choice& c) {
  std::ostringstream s;
  s.precision(1);
  s << std::fixed;
  for (size_t i = 0; i < c.median_ms.size(); ++i) {
    s << (i ? ", " : "") << c.median_ms[i].first << " " << c.median_ms[i].second << " ms";
  }
  return s.str();
}

// The chosen backend's engine, with the choice in its notes.
class ChosenEngine final : public Engine {
 public:
  ChosenEngine(std::unique_ptr<Engine> inner, std::vector<std::string> notes)
      : inner_(std::move(inner)), notes_(std::move(notes)) {
    for (auto& n : inner_->notes()) notes_.push_back(std::move(n));
  }
  const std::vector<TensorInfo>& inputs() const override { return inner_->inputs(); }
  const std::vector<TensorInfo>& outputs() const override { return inner_->outputs(); }
  Status run(const std::vector<TensorView>& in, std::vector<Tensor>* out) override {
    return inner_->run(in, out);
  }
  std::string backend_name() const override { return inner_->backend_name(); }
  std::string precision() const override { return inner_->precision(); }
  std::vector<std::string> providers() const override { return inner_->providers(); }
  std::vector<std::string> notes() const override { return notes_; }
  EngineStats stats() const override { return inner_->stats(); }
  int parallel_runs() const override { return inner_->parallel_runs(); }

 private:
  std::unique_ptr<Engine> inner_;
  std::vector<std::string> notes_;
};

}  // namespace

std::string vasdk_cache_dir() {
  if (const char* d = std::getenv("VASDK_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/vasdk";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/vasdk";
  return "";
}

Result<std::unique_ptr<Engine>> create_auto_engine(const std::string& path, const void* data,
                                                   size_t size, const EngineOptions& options,
                                                   const std::vector<AutoCandidate>& candidates,
                                                   const std::vector<std::string>& skipped,
                                                   const BackendFactory& create) {
  std::string absent;
  for (const auto& s : skipped) absent += "; " + s;
  if (candidates.empty()) {
    return Status(StatusCode::kBackendUnavailable,
                  "backend 'auto': no inference backend loads" + absent);
  }
  if (candidates.size() == 1) {
    VAS_ASSIGN_OR_RETURN(std::unique_ptr<Engine> only, create(candidates[0].backend));
    return std::unique_ptr<Engine>(new ChosenEngine(
        std::move(only),
        {"auto: " + candidates[0].backend + ", the only backend present" + absent}));
  }
  VAS_ASSIGN_OR_RETURN(const std::string hash, model_hash(path, data, size));
  const std::string key = cache_key(hash, options, candidates);
  Result<std::string> file = cache_file(key);
  Choice choice;
  if (file.is_ok() && read_choice(file.value(), key, &choice)) {
    for (const auto& c : candidates) {
      if (c.backend != choice.backend) continue;
      VAS_ASSIGN_OR_RETURN(std::unique_ptr<Engine> e, create(c.backend));
      return std::unique_ptr<Engine>(new ChosenEngine(
          std::move(e), {"auto: " + choice.backend + " (cached choice: " + timings_text(choice) +
                         "; " + file.value() + ")" + absent}));
    }
  }

  // Measure every candidate that creates; one that fails to compile this model is skipped.
  std::vector<std::unique_ptr<Engine>> engines;
  std::vector<std::string> names;
  for (const auto& c : candidates) {
    Result<std::unique_ptr<Engine>> e = create(c.backend);
    if (e.is_ok()) {
      engines.push_back(std::move(e).value());
      names.push_back(c.backend);
    } else {
      absent += "; " + c.backend + " failed: " + e.status().message();
    }
  }
  if (engines.empty()) {
    return Status(StatusCode::kBackendUnavailable,
                  "backend 'auto': no backend could load the model" + absent);
  }
  if (engines.size() == 1) {
    return std::unique_ptr<Engine>(new ChosenEngine(
        std::move(engines[0]), {"auto: " + names[0] + ", the only backend that loads" + absent}));
  }
  std::vector<Engine*> raw;
  raw.reserve(engines.size());
  for (auto& e : engines) raw.push_back(e.get());
  Result<std::vector<double>> medians = measure(raw, options);
  if (!medians.is_ok()) {
    // Unmeasurable (dynamic dims without a probe shape): the default backend, said plainly.
    return std::unique_ptr<Engine>(
        new ChosenEngine(std::move(engines[0]), {"auto: " + names[0] + " (default; not measured: " +
                                                 medians.status().message() + ")" + absent}));
  }
  size_t best = 0;
  for (size_t i = 1; i < engines.size(); ++i) {
    if (medians.value()[i] < (1.0 - kAutoMargin) * medians.value()[best]) best = i;
  }
  choice.backend = names[best];
  choice.median_ms.clear();
  for (size_t i = 0; i < names.size(); ++i)
    choice.median_ms.emplace_back(names[i], medians.value()[i]);
  std::string where = "not cached: ";
  if (file.is_ok()) {
    const Status w = write_choice(file.value(), key, choice);
    where = w.is_ok() ? "cached in " + file.value() : "not cached: " + w.message();
  } else {
    where += file.status().message();
  }
  return std::unique_ptr<Engine>(new ChosenEngine(
      std::move(engines[best]), {"auto: " + choice.backend + " (measured now: " +
                                 timings_text(choice) + "; " + where + ")" + absent}));
}

}  // namespace vas
