// parse_config_json and config_value_text: the one way untrusted JSON enters vasdk.
//
// nlohmann's parser keeps its own stack, but copying, comparing, dumping and destroying a
// document recurse once per level, so a 120 KB config that opens 50,000 arrays overflows the
// stack long after parsing succeeded. The depth is therefore checked on the raw text before
// nlohmann sees it, and error messages only ever quote a bounded excerpt of a value.
#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/config_reader.h"

namespace vas {
namespace {

using json = nlohmann::json;

struct TextPosition {
  size_t line = 1;
  size_t column = 1;
};

TextPosition position_of(const std::string& text, size_t at) {
  TextPosition p;
  size_t line_start = 0;
  at = std::min(at, text.size());
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++p.line;
      line_start = i + 1;
    }
  }
  p.column = at - line_start + 1;
  return p;
}

std::string at_text(const std::string& text, size_t at) {
  const TextPosition p = position_of(text, at);
  return "line " + std::to_string(p.line) + ", column " + std::to_string(p.column);
}

// Size and nesting, on the raw bytes: one pass, no recursion, before any parser allocates.
Status check_limits(const std::string& text, const std::string& what) {
  if (text.size() > kConfigMaxBytes) {
    return invalid_config(what + " is " + std::to_string(text.size()) +
                          " bytes, over the limit of " + std::to_string(kConfigMaxBytes) +
                          " (VAS_CONFIG_MAX_BYTES)");
  }
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kConfigMaxDepth) {
        return invalid_config(what + " nests arrays and objects deeper than the limit of " +
                              std::to_string(kConfigMaxDepth) + " (VAS_CONFIG_MAX_DEPTH) at " +
                              at_text(text, i));
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;  // unbalanced closers are the parser's to report
    }
  }
  return Status::ok();
}

// Thrown by the parse callback; carries "<path>: <cause>".
struct RejectedValue : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Follows the parser's events to know the path of the value being read, so that a duplicate
// key or a string with an embedded NUL is reported by the field it sits in.
class PathTracker {
 public:
  bool on_event(json::parse_event_t event, const json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        frames_.push_back(Frame{true, {}, {}, 0});
        break;
      case json::parse_event_t::array_start:
        frames_.push_back(Frame{false, {}, {}, 0});
        break;
      case json::parse_event_t::key: {
        const auto& k = parsed.get_ref<const std::string&>();
        Frame& f = frames_.back();
        f.key = k;
        if (k.find('\0') != std::string::npos) {
          throw RejectedValue(path() + ": a key contains a NUL character (\\u0000)");
        }
        if (!f.keys.insert(k).second) {
          throw RejectedValue(path() + ": duplicate key (each key may appear once)");
        }
        break;
      }
      case json::parse_event_t::value:
        if (parsed.is_string() &&
            parsed.get_ref<const std::string&>().find('\0') != std::string::npos) {
          throw RejectedValue(path() +
                              ": the string contains a NUL character (\\u0000), which would "
                              "cut it short wherever it is used as a C string");
        }
        finish_item();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames_.pop_back();
        finish_item();
        break;
    }
    return true;
  }

 private:
  struct Frame {
    bool object;
    std::unordered_set<std::string> keys;
    std::string key;
    size_t index;
  };

  void finish_item() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
  }

  std::string path() const {
    std::string p;
    for (const Frame& f : frames_) {
      if (f.object) {
        p += (p.empty() ? "" : ".") + key_text(f.key);
      } else {
        p += "[" + std::to_string(f.index) + "]";
      }
    }
    return p.empty() ? "(root)" : p;
  }

  // A key as it reads in a path: bare when plain, else quoted with JSON escapes (a NUL shows as
  // \u0000 instead of ending the message).
  static std::string key_text(const std::string& k) {
    const bool plain = !k.empty() && k.size() <= 40 && std::all_of(k.begin(), k.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-';
    });
    return plain ? k : config_value_excerpt(json(k), 40, true);
  }

  std::vector<Frame> frames_;
};

// nlohmann's what() starts with "[json.exception.parse_error.101] parse error at line 1,
// column 2: "; keep only the cause, the position is reported by parse_config_json itself.
std::string json_error_cause(const std::string& what) {
  std::string s = what;
  if (s.rfind("[json.exception.", 0) == 0) {
    const auto close = s.find("] ");
    if (close != std::string::npos) s = s.substr(close + 2);
  }
  if (s.rfind("parse error", 0) == 0) {
    const auto colon = s.find(": ");
    if (colon != std::string::npos) s = s.substr(colon + 2);
  }
  // "...; last read: '<token>'" quotes the whole token nlohmann was reading: a 300 KB string
  // when the document's fault is at its end. Keep a short excerpt of it, and of the whole.
  constexpr size_t kTokenChars = 40, kCauseChars = 200;
  const std::string last_read = "last read: '";
  if (const auto at = s.find(last_read); at != std::string::npos) {
    const size_t token = at + last_read.size();
    if (s.size() > token + kTokenChars + 1) s = s.substr(0, token + kTokenChars) + "...'";
  }
  if (s.size() > kCauseChars) s = s.substr(0, kCauseChars - 3) + "...";
  return s;
}

void append_excerpt(const json& v, size_t limit, std::string* out) {
  if (out->size() > limit) return;
  if (v.is_object() || v.is_array()) {
    const bool object = v.is_object();
    *out += object ? '{' : '[';
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (out->size() > limit) return;
      if (!first) *out += ',';
      first = false;
      if (object) {
        append_excerpt(json(it.key()), limit, out);
        *out += ':';
      }
      append_excerpt(it.value(), limit, out);
    }
    *out += object ? '}' : ']';
  } else if (v.is_string()) {
    // Cut before quoting: a 1 MB string costs no more than a short one.
    const auto& s = v.get_ref<const std::string&>();
    *out += json(s.substr(0, limit + 1)).dump(-1, ' ', false, json::error_handler_t::replace);
  } else {
    *out += v.dump();
  }
}

}  // namespace

std::string config_value_excerpt(const json& v, size_t max_chars, bool quote_strings) {
  std::string s;
  if (!quote_strings && v.is_string()) {
    s = v.get_ref<const std::string&>().substr(0, max_chars + 1);
  } else {
    // Depth is bounded by kConfigMaxDepth for every parsed document, so this recursion is too.
    append_excerpt(v, max_chars, &s);
  }
  if (s.size() > max_chars) s = s.substr(0, max_chars > 3 ? max_chars - 3 : 0) + "...";
  return s;
}

std::string config_value_text(const json& v) { return config_value_excerpt(v, 60, true); }

Result<json> parse_config_json(const std::string& text, const std::string& what) {
  VAS_RETURN_IF_ERROR(check_limits(text, what));
  PathTracker tracker;
  try {
    return json::parse(text, [&tracker](int /*depth*/, json::parse_event_t event, json& parsed) {
      return tracker.on_event(event, parsed);
    });
  } catch (const RejectedValue& e) {
    return invalid_config(what + ": " + e.what());
  } catch (const json::parse_error& e) {
    // e.byte is 1-based and points at the last character read: the offending one.
    const size_t at = e.byte > 0 ? e.byte - 1 : 0;
    return invalid_config(what + " is not valid JSON at " + at_text(text, at) + ": " +
                          json_error_cause(e.what()));
  } catch (const json::exception& e) {  // out_of_range: a number such as 1e400 overflows
    return invalid_config(what + " is not valid JSON: " + json_error_cause(e.what()));
  }
}

}  // namespace vas
