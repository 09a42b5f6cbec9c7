// Kept apart from pipeline_config.cpp, which includes the detector (see detector_stage.h).
#include "analytics/analytics.h"
#include "pipeline/pipeline_config.h"

namespace vas {

Status check_analytics_config(const std::string& json) {
  auto parsed = parse_analytics_config(json);
  if (!parsed.is_ok()) return parsed.status();
  // Creating it also checks what only the modules' constructors check.
  return Analytics::create(parsed.value()).status();
}

}  // namespace vas
