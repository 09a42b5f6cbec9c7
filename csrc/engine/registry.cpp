#include <functional>
#include <utility>

#include "engine/engine.h"
#include "engine/ort/ort_engine.h"

namespace vas {
namespace {

using Factory =
    std::function<Result<std::unique_ptr<Engine>>(const std::string&, const EngineOptions&)>;

// Registered explicitly rather than by static initialisers, which a static link may drop.
const std::vector<std::pair<std::string, Factory>>& backends() {
  static const std::vector<std::pair<std::string, Factory>> table = {
      {"ort", &create_ort_engine},
  };
  return table;
}

}  // namespace

Result<std::unique_ptr<Engine>> create_engine(const std::string& model_path,
                                              const EngineOptions& options) {
  for (const auto& [name, factory] : backends()) {
    if (name == options.backend) return factory(model_path, options);
  }
  std::string known;
  for (const auto& entry : backends()) known += (known.empty() ? "" : ", ") + entry.first;
  return Status(
      StatusCode::kBackendUnavailable,
      "engine backend '" + options.backend + "' is not built in (available: " + known + ")");
}

std::vector<std::string> available_backends() {
  std::vector<std::string> names;
  for (const auto& entry : backends()) names.push_back(entry.first);
  return names;
}

}  // namespace vas
