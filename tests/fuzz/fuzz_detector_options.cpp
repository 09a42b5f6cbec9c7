// Fuzzes the detector's JSON options parser (vas::parse_detector_options), the string every
// vas_detector_create caller passes through options_json. Any input must give either options
// that satisfy the parser's documented bounds or an error status with a message, never a
// crash, an exception, or undefined behaviour (e.g. a float-to-int overflow in a conversion).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "models/detector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto result = vas::parse_detector_options(text);
  if (!result.is_ok()) {
    if (result.status().message().empty()) std::abort();  // errors must say why
    return 0;
  }
  const vas::DetectorOptions& o = result.value();
  if (o.engine.threads < 0 || o.input_width < 0 || o.input_height < 0) std::abort();
  if (o.score_threshold > 1 || o.nms_iou > 1 || o.max_detections <= 0) std::abort();
  return 0;
}
