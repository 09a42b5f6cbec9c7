// Fuzzes every C API entry point that takes JSON with hostile documents, as an attacker would
// write them: nesting tens of thousands deep (balanced or not), strings of hundreds of KB,
// numbers past every range, duplicate keys, escaped NULs, lone surrogates and raw bytes,
// alone or as the value of a real field of the entry point's config.
//
// Entry points: detector options and the model card beside the model, tracker, best-shot,
// associator and rules configs, the pipeline config, vas_pipeline_add_channel and
// vas_pipeline_update_rules (on one pipeline made once).
//
// Oracles, from the header's promises:
//  - a failed call returns a negative status and a non-empty message of bounded length (no
//    message repeats an untrusted value whole);
//  - a document nested deeper than VAS_CONFIG_MAX_DEPTH, larger than VAS_CONFIG_MAX_BYTES,
//    holding an escaped NUL in a string or repeating a key is refused with
//    VAS_ERR_INVALID_CONFIG;
//  - every call returns (libFuzzer's -timeout catches a hang), and nothing crashes (ASan).
#include <unistd.h>
#include <vasdk/vasdk.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace {

class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint32_t u16() { return static_cast<uint32_t>(u8() | (u8() << 8)); }
  bool done() const { return pos_ >= size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// A generated document and what the oracle must see refused.
struct Doc {
  std::string text;
  bool must_fail = false;
};

// Field names the parsers know, so that generated values reach the readers behind them.
const char* const kKeys[] = {"threads",   "classes", "rules",  "id",      "type",     "polygon",
                             "line",      "dwell_s", "source", "url",     "channels", "tracker",
                             "best_shot", "top_k",   "model",  "options", "push",     "analytics"};

void value(Bytes& in, int depth, Doc* d);

void string_value(Bytes& in, Doc* d) {
  const uint8_t kind = in.u8();
  std::string s;
  switch (kind % 6) {
    case 0:  // long: up to 320 KB
      s.assign(static_cast<size_t>(in.u16()) * 5, static_cast<char>('a' + kind % 26));
      break;
    case 1:  // an escaped NUL inside an otherwise harmless string
      s = "yolo.onnx\\u0000.bak";
      d->must_fail = true;
      break;
    case 2:  // a lone surrogate and other escapes
      s = "\\ud800\\udfff\\u00e9\\t\\\"";
      break;
    case 3:  // raw bytes, invalid UTF-8 and control characters included
      for (int i = in.u8() % 16; i > 0; --i) s += static_cast<char>(in.u8() | 0x01);
      break;
    default:
      s = kKeys[in.u8() % (sizeof(kKeys) / sizeof(kKeys[0]))];
  }
  d->text += '"' + s + '"';
}

void number_value(Bytes& in, Doc* d) {
  static const char* const kNumbers[] = {"1e400",
                                         "-1e400",
                                         "1e308",
                                         "-0",
                                         "18446744073709551616",
                                         "-9223372036854775809",
                                         "1e-400",
                                         "123456789012345678901234567890",
                                         "4294967296",
                                         "2147483648",
                                         "0.5",
                                         "NaN",
                                         "1"};
  d->text += kNumbers[in.u8() % (sizeof(kNumbers) / sizeof(kNumbers[0]))];
}

void nested(Bytes& in, Doc* d) {
  const size_t n = 1 + static_cast<size_t>(in.u16()) % 70000;
  const bool objects = in.u8() & 1;
  const bool balanced = in.u8() % 4 != 0;
  for (size_t i = 0; i < n; ++i) d->text += objects ? "{\"a\":" : "[";
  d->text += "1";
  if (balanced)
    for (size_t i = 0; i < n; ++i) d->text += objects ? '}' : ']';
  if (n > VAS_CONFIG_MAX_DEPTH) d->must_fail = true;
}

void object_value(Bytes& in, int depth, Doc* d) {
  d->text += '{';
  const int n = in.u8() % 5;
  const bool dup = n > 0 && in.u8() % 4 == 0;
  for (int i = 0; i < n; ++i) {
    if (i) d->text += ',';
    const char* key = kKeys[in.u8() % (sizeof(kKeys) / sizeof(kKeys[0]))];
    d->text += std::string("\"") + key + "\":";
    value(in, depth + 1, d);
    if (dup && i == 0) {
      d->text += std::string(",\"") + key + "\":";
      value(in, depth + 1, d);
      d->must_fail = true;
    }
  }
  d->text += '}';
}

void value(Bytes& in, int depth, Doc* d) {
  if (depth > 6) return number_value(in, d);
  switch (in.u8() % 8) {
    case 0:
      return nested(in, d);
    case 1:
    case 2:
      return string_value(in, d);
    case 3:
      return number_value(in, d);
    case 4:
    case 5:
      return object_value(in, depth, d);
    case 6: {
      d->text += '[';
      for (int i = in.u8() % 4; i > 0; --i) {
        value(in, depth + 1, d);
        if (i > 1) d->text += ',';
      }
      d->text += ']';
      return;
    }
    default:
      d->text += (in.u8() & 1) ? "true" : "null";
  }
}

// The generated value alone, or as one field of a document of the entry point's own shape.
Doc document(Bytes& in, const std::string& prefix, const std::string& suffix,
             bool may_stand_alone = true) {
  Doc d;
  const bool alone = may_stand_alone && in.u8() % 4 == 0;
  if (!alone) d.text = prefix;
  value(in, 0, &d);
  if (!alone) d.text += suffix;
  if (d.text.size() > VAS_CONFIG_MAX_BYTES) d.must_fail = true;
  return d;
}

void check(vas_status_t st, const Doc& d, const char* what,
           vas_status_t also_refusal = VAS_ERR_INVALID_CONFIG) {
  if (st == VAS_OK) {
    if (d.must_fail) {
      std::fprintf(stderr, "%s accepted a document it must refuse (%zu bytes): %.200s\n", what,
                   d.text.size(), d.text.c_str());
      std::abort();
    }
    return;
  }
  const char* msg = vas_last_error_message();
  if (st > 0 || msg == nullptr || msg[0] == '\0') std::abort();
  if (std::strlen(msg) > 2048) {
    std::fprintf(stderr, "%s: a %zu-byte message\n", what, std::strlen(msg));
    std::abort();
  }
  if (d.must_fail && st != VAS_ERR_INVALID_CONFIG && st != also_refusal) {
    std::fprintf(stderr, "%s: %s for a document it must refuse as a config: %s\n", what,
                 vas_status_str(st), msg);
    std::abort();
  }
}

std::string g_model, g_tmp_model, g_tmp_card;
vas_pipeline_t* g_pipeline = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  const char* assets = std::getenv("VASDK_ASSETS");
  g_model = std::string(assets ? assets : VASDK_FUZZ_ASSETS_DIR) + "/yolov3-tiny.onnx";
  // A model whose card the fuzzer writes: a link to the real model in a private folder.
  char dir[] = "/tmp/vasdk_fuzz_json_XXXXXX";
  if (mkdtemp(dir) == nullptr) std::abort();
  g_tmp_model = std::string(dir) + "/m.onnx";
  g_tmp_card = std::string(dir) + "/m.json";
  if (symlink(g_model.c_str(), g_tmp_model.c_str()) != 0) std::abort();
  vas_pipeline_config_t cfg;
  vas_pipeline_config_init(&cfg);
  const std::string json = R"({"models": {"detector": {"model": ")" + g_model +
                           R"(", "options": {"input_width": 64, "input_height": 64, "threads": 1}}},
      "channels": [{"id": "c", "push": true}]})";
  cfg.config_json = json.c_str();
  if (vas_pipeline_create(&cfg, &g_pipeline) != VAS_OK) {
    std::fprintf(stderr, "pipeline: %s\n", vas_last_error_message());
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  const uint8_t target = in.u8();
  switch (target % 9) {
    case 0: {
      Doc d = document(in, R"({"threads": 1, "classes": )", "}");
      vas_detector_config_t cfg;
      vas_detector_config_init(&cfg);
      cfg.model_path = "/nonexistent/model.onnx";  // the options are parsed before the model
      cfg.options_json = d.text.c_str();
      vas_detector_t* det = nullptr;
      check(vas_detector_create(&cfg, &det), d, "detector options");
      vas_detector_destroy(det);
      break;
    }
    case 1: {
      Doc d = document(in, R"({"name": "m", "classes": ["person"], "decoder": )", "}");
      std::ofstream(g_tmp_card, std::ios::binary | std::ios::trunc) << d.text;
      vas_detector_config_t cfg;
      vas_detector_config_init(&cfg);
      cfg.model_path = g_tmp_model.c_str();
      vas_detector_t* det = nullptr;
      // A card is the model's: its refusals may also say VAS_ERR_INVALID_MODEL.
      check(vas_detector_create(&cfg, &det), d, "model card", VAS_ERR_INVALID_MODEL);
      vas_detector_destroy(det);
      break;
    }
    case 2: {
      Doc d = document(in, R"({"type": "sort", "max_age": )", "}");
      vas_tracker_config_t cfg;
      vas_tracker_config_init(&cfg);
      cfg.config_json = d.text.c_str();
      vas_tracker_t* t = nullptr;
      check(vas_tracker_create(&cfg, &t), d, "tracker config");
      vas_tracker_destroy(t);
      break;
    }
    case 3: {
      Doc d = document(in, R"({"top_k": )", "}");
      vas_best_shot_config_t cfg;
      vas_best_shot_config_init(&cfg);
      cfg.config_json = d.text.c_str();
      vas_best_shot_selector_t* s = nullptr;
      check(vas_best_shot_selector_create(&cfg, &s), d, "best-shot config");
      vas_best_shot_selector_destroy(s);
      break;
    }
    case 4: {
      Doc d = document(in, R"({"parent_class": )", "}");
      vas_associator_config_t cfg;
      vas_associator_config_init(&cfg);
      cfg.config_json = d.text.c_str();
      vas_associator_t* a = nullptr;
      check(vas_associator_create(&cfg, &a), d, "associator config");
      vas_associator_destroy(a);
      break;
    }
    case 5: {
      Doc d = document(
          in, R"({"channel": "c", "rules": [{"id": "r", "type": "intrusion", "polygon": )", "}]}");
      vas_rules_config_t cfg;
      vas_rules_config_init(&cfg);
      cfg.config_json = d.text.c_str();
      vas_rules_t* r = nullptr;
      check(vas_rules_create(&cfg, &r), d, "rules config");
      vas_rules_destroy(r);
      break;
    }
    case 6: {
      Doc d = document(
          in, R"({"models": {"detector": {"model": "/nonexistent/m.onnx"}}, "channels": )", "}");
      vas_pipeline_config_t cfg;
      vas_pipeline_config_init(&cfg);
      cfg.config_json = d.text.c_str();
      vas_pipeline_t* p = nullptr;
      check(vas_pipeline_create(&cfg, &p), d, "pipeline config");
      vas_pipeline_destroy(p);
      break;
    }
    case 7: {
      // Wrapped, so that an accepted channel has a known id to remove again.
      Doc d = document(in, R"({"id": "fz", "push": true, "analytics": {"tracker": )", "}}",
                       /*may_stand_alone=*/false);
      const vas_status_t st = vas_pipeline_add_channel(g_pipeline, d.text.c_str());
      check(st, d, "add_channel");
      if (st == VAS_OK && vas_pipeline_remove_channel(g_pipeline, "fz") != VAS_OK) std::abort();
      break;
    }
    default: {
      Doc d = document(in, R"({"rules": [{"id": "l", "type": "line_crossing", "line": )", "}]}");
      check(vas_pipeline_update_rules(g_pipeline, "c", d.text.c_str()), d, "update_rules");
      break;
    }
  }
  return 0;
}
