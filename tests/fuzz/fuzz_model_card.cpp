// Fuzzes the model card parser (vas::parse_model_card): a card is read from disk next to a
// model, so a truncated or hand-edited file must give an error status that says why, never a
// crash, an exception or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "models/model_card.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto result = vas::parse_model_card(text, "fuzz.json");
  if (!result.is_ok()) {
    if (result.status().message().empty()) std::abort();  // errors must say why
    return 0;
  }
  // A card that parses is used to size buffers; it must not describe an empty input.
  const vas::ModelCard& card = result.value();
  if (card.preprocess.width <= 0 || card.preprocess.height <= 0) std::abort();
  return 0;
}
