// The shared JSON config reader: typed fields, defaults, ranges, nesting, paths, unknown fields.
#include <gtest/gtest.h>

#include "core/config_reader.h"

namespace vas {
namespace {

using json = nlohmann::json;

json doc(const std::string& text) {
  auto r = parse_config_json(text, "test config");
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? r.value() : json();
}

TEST(ConfigReader, ReadsTypedFieldsAndKeepsDefaults) {
  const json j = doc(R"({"n": 3, "x": 0.5, "b": true, "s": "hi", "v": [1, 2.5], "w": 2.0})");
  ConfigObject o(j, "", "test config");
  int n = 0, missing = 7, w = 0;
  double x = 0;
  bool b = false;
  std::string s;
  std::vector<float> v;
  EXPECT_TRUE(o.opt("n", &n, in_range(1, 5)));
  EXPECT_TRUE(o.opt("x", &x));
  EXPECT_TRUE(o.req("b", &b));
  EXPECT_TRUE(o.opt("s", &s));
  EXPECT_TRUE(o.opt("v", &v));
  EXPECT_TRUE(o.opt("w", &w));  // a whole number written as 2.0 is an integer
  EXPECT_FALSE(o.opt("absent", &missing));
  ASSERT_TRUE(o.finish().is_ok()) << o.status().message();
  EXPECT_EQ(n, 3);
  EXPECT_EQ(x, 0.5);
  EXPECT_TRUE(b);
  EXPECT_EQ(s, "hi");
  EXPECT_EQ(v, (std::vector<float>{1.0f, 2.5f}));
  EXPECT_EQ(w, 2);
  EXPECT_EQ(missing, 7);
}

// The message of the first error after reading `text` with `read`.
template <typename F>
std::string error_of(const std::string& text, const std::string& root, F read) {
  const json j = doc(text);
  ConfigObject o(j, root, "test config");
  read(o);
  const Status st = o.finish();
  EXPECT_FALSE(st.is_ok()) << text;
  EXPECT_EQ(st.code(), StatusCode::kInvalidConfig);
  return st.message();
}

TEST(ConfigReader, TypeAndRangeErrorsNameThePathTheRangeAndTheValue) {
  int i = 0;
  double d = 0;
  bool b = false;
  std::string s;
  EXPECT_EQ(error_of(R"({"min_hits": -2})", "tracker",
                     [&](ConfigObject& o) { o.opt("min_hits", &i, at_least(1)); }),
            "tracker.min_hits: expected an integer >= 1, got -2");
  EXPECT_EQ(error_of(R"({"top_k": 65})", "",
                     [&](ConfigObject& o) { o.opt("top_k", &i, in_range(1, 64)); }),
            "top_k: expected an integer in 1..64, got 65");
  EXPECT_EQ(error_of(R"({"k": 1.5})", "", [&](ConfigObject& o) { o.opt("k", &i); }),
            "k: expected an integer in -2147483648..2147483647, got 1.5");
  EXPECT_EQ(error_of(R"({"k": 1e20})", "", [&](ConfigObject& o) { o.opt("k", &i); }),
            "k: expected an integer in -2147483648..2147483647, got 1e+20");
  EXPECT_EQ(error_of(R"({"c": 0})", "a",
                     [&](ConfigObject& o) { o.opt("c", &d, in_range_open_lo(0, 1)); }),
            "a.c: expected a number in (0, 1], got 0");
  EXPECT_EQ(error_of(R"({"c": 0})", "", [&](ConfigObject& o) { o.opt("c", &d, above(0)); }),
            "c: expected a number > 0, got 0");
  EXPECT_EQ(
      error_of(R"({"c": 1.5})", "", [&](ConfigObject& o) { o.opt("c", &d, in_range(0, 0.25)); }),
      "c: expected a number in [0, 0.25], got 1.5");
  EXPECT_EQ(error_of(R"({"c": "x"})", "", [&](ConfigObject& o) { o.opt("c", &d); }),
            "c: expected a number, got \"x\"");
  EXPECT_EQ(error_of(R"({"f": 1e300})", "",
                     [&](ConfigObject& o) {
                       float f = 0;
                       o.opt("f", &f);
                     }),
            "f: expected a number, got 1e+300");
  EXPECT_EQ(error_of(R"({"b": 1})", "", [&](ConfigObject& o) { o.opt("b", &b); }),
            "b: expected true or false, got 1");
  EXPECT_EQ(error_of(R"({"s": [1]})", "", [&](ConfigObject& o) { o.opt("s", &s); }),
            "s: expected a string, got [1]");
  EXPECT_EQ(error_of(R"({})", "card", [&](ConfigObject& o) { o.req("name", &s); }),
            "card.name: missing");
}

TEST(ConfigReader, ListsNameTheFailingItem) {
  std::vector<float> v;
  std::vector<std::vector<float>> vv;
  std::vector<std::string> names;
  EXPECT_EQ(error_of(R"({"mean": [1, "x", 3]})", "card.input",
                     [&](ConfigObject& o) { o.opt("mean", &v); }),
            "card.input.mean[1]: expected a number, got \"x\"");
  EXPECT_EQ(error_of(R"({"mean": 3})", "", [&](ConfigObject& o) { o.opt("mean", &v); }),
            "mean: expected a list of numbers, got 3");
  EXPECT_EQ(error_of(R"({"a": [[1, 2], [3, -1]]})", "",
                     [&](ConfigObject& o) { o.opt("a", &vv, above(0)); }),
            "a[1][1]: expected a number > 0, got -1");
  EXPECT_EQ(error_of(R"({"a": [1]})", "", [&](ConfigObject& o) { o.opt("a", &vv); }),
            "a[0]: expected a list of numbers, got 1");
  EXPECT_EQ(
      error_of(R"({"classes": ["a", 2]})", "", [&](ConfigObject& o) { o.opt("classes", &names); }),
      "classes[1]: expected a string, got 2");
  EXPECT_EQ(config_type_name<std::vector<std::vector<float>>>(), "a list of lists of numbers");
}

TEST(ConfigReader, NestedObjectsAndArraysTrackTheirPath) {
  const std::string text =
      R"({"rules": [{"id": "a", "polygon": [[0, 0], [1, 1]]},
                    {"id": "b", "polygon": [[0, 0], [1, 1], [2, 2], [3]]}]})";
  const json j = doc(text);
  ConfigObject o(j, "", "rules config");
  ConfigArray rules = o.array("rules", true);
  ASSERT_EQ(rules.size(), 2u);
  for (size_t r = 0; r < rules.size(); ++r) {
    ConfigObject rule = rules.object(r);
    std::string id;
    rule.req("id", &id);
    ConfigArray poly = rule.array("polygon", true);
    for (size_t i = 0; i < poly.size(); ++i) {
      std::vector<double> xy;
      if (poly.read(i, &xy) && xy.size() != 2) {
        poly.fail(i, "expected [x, y], got " + config_value_text(poly.raw(i)));
      }
    }
    (void)rule.finish();
  }
  EXPECT_EQ(o.finish().message(), "rules[1].polygon[3]: expected [x, y], got [3]");

  EXPECT_EQ(error_of(R"({"rules": [1]})", "", [](ConfigObject& o) { o.array("rules").object(0); }),
            "rules[0]: expected an object, got 1");
  EXPECT_EQ(error_of(R"({"rules": {}})", "", [](ConfigObject& o) { o.array("rules"); }),
            "rules: expected a list, got {}");
  EXPECT_EQ(error_of(R"({"input": []})", "card", [](ConfigObject& o) { o.object("input"); }),
            "card.input: expected an object, got []");
  EXPECT_EQ(error_of(R"({})", "card", [](ConfigObject& o) { o.object("decoder", true); }),
            "card.decoder: missing");
}

TEST(ConfigReader, AbsentOptionalSectionsReadAsDefaults) {
  const json j = doc(R"({"a": 1})");
  ConfigObject o(j, "", "test config");
  int a = 0, w = 5;
  o.opt("a", &a);
  ConfigObject weights = o.object("weights");
  EXPECT_FALSE(weights.present());
  EXPECT_FALSE(weights.opt("size", &w));
  EXPECT_TRUE(weights.finish().is_ok());
  ConfigArray list = o.array("list");
  EXPECT_EQ(list.size(), 0u);
  EXPECT_TRUE(o.finish().is_ok());
  EXPECT_EQ(w, 5);
}

TEST(ConfigReader, UnknownFieldsAreErrorsWithTheirFullPath) {
  int stride = 0;
  EXPECT_EQ(error_of(R"({"decoder": {"type": "yolov8", "strid": 8}})", "card",
                     [&](ConfigObject& o) {
                       ConfigObject d = o.object("decoder");
                       std::string t;
                       d.req("type", &t);
                       d.opt("stride", &stride);
                       (void)d.finish();
                     }),
            "card.decoder.strid: unknown field");
  EXPECT_EQ(error_of(R"({"colour": 1})", "", [](ConfigObject&) {}), "colour: unknown field");
  // A suffix says why a field is unknown here.
  EXPECT_EQ(error_of(R"({"dwell_s": 1})", "rules[0]",
                     [](ConfigObject& o) { (void)o.finish(" for rule type 'intrusion'"); }),
            "rules[0].dwell_s: unknown field for rule type 'intrusion'");
  // allow() marks fields read elsewhere; reject() names fields that do not apply.
  const json j = doc(R"({"type": "sort", "extra": 1})");
  ConfigObject o(j, "tracker", "tracker config");
  o.allow("type");
  o.allow("extra");
  EXPECT_TRUE(o.finish().is_ok());
  EXPECT_EQ(
      error_of(R"({"track_thresh": 0.5})", "tracker",
               [](ConfigObject& o) { o.reject("track_thresh", "does not apply to type 'sort'"); }),
      "tracker.track_thresh: does not apply to type 'sort'");
}

TEST(ConfigReader, TheFirstErrorWinsAndLaterReadsDoNothing) {
  const json j = doc(R"({"a": "x", "b": 2, "c": 0})");
  ConfigObject o(j, "", "test config");
  int a = 1, b = 1, c = 1;
  EXPECT_FALSE(o.opt("a", &a));
  EXPECT_FALSE(o.opt("b", &b));  // valid, but the document already failed
  EXPECT_FALSE(o.opt("c", &c, at_least(1)));
  EXPECT_EQ(o.finish().message(), "a: expected an integer in -2147483648..2147483647, got \"x\"");
  EXPECT_EQ(b, 1);
}

TEST(ConfigReader, ChoicesMapNamesToValues) {
  const json j = doc(R"({"mode": "letterbox"})");
  ConfigObject o(j, "card.input", "card");
  enum class Mode { kStretch, kLetterbox } mode = Mode::kStretch;
  EXPECT_TRUE(
      o.opt_choice("mode", &mode, {{"stretch", Mode::kStretch}, {"letterbox", Mode::kLetterbox}}));
  EXPECT_EQ(mode, Mode::kLetterbox);
  EXPECT_EQ(error_of(R"({"type": "kcf"})", "tracker",
                     [](ConfigObject& o) {
                       int t = 0;
                       o.opt_choice("type", &t, {{"sort", 0}, {"bytetrack", 1}});
                     }),
            "tracker.type: expected one of 'sort', 'bytetrack', got 'kcf'");
}

TEST(ConfigReader, SyntaxErrorsNameLineAndColumn) {
  auto r = parse_config_json("{\n  \"a\": 1,\n  \"b\": tru\n}", "tracker config");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig);
  EXPECT_EQ(r.status().message().rfind("tracker config is not valid JSON at line 3, column ", 0),
            0u)
      << r.status().message();
  EXPECT_EQ(r.status().message().find("[json.exception"), std::string::npos);
  auto first = parse_config_json("{x", "rules config");
  EXPECT_EQ(
      first.status().message().rfind("rules config is not valid JSON at line 1, column 2:", 0), 0u)
      << first.status().message();
  auto overflow = parse_config_json(R"({"a": 1e400})", "card");
  EXPECT_EQ(overflow.status().code(), StatusCode::kInvalidConfig);
  EXPECT_NE(overflow.status().message().find("card is not valid JSON"), std::string::npos);
  EXPECT_FALSE(parse_config_json("", "card").is_ok());
  // The token nlohmann was reading is quoted in its message: a long one is cut short.
  for (const char* tail : {"\x01\"}", "x"}) {
    auto long_token = parse_config_json(R"({"a": ")" + std::string(300000, 'k') + tail, "card");
    ASSERT_FALSE(long_token.is_ok());
    EXPECT_LT(long_token.status().message().size(), 400u) << long_token.status().message();
    EXPECT_NE(long_token.status().message().find("last read: '\"kkk"), std::string::npos)
        << long_token.status().message();
  }
}

TEST(ConfigReader, ARootThatIsNotAnObjectNamesTheDocument) {
  const json j = doc("[1, 2]");
  ConfigObject o(j, "tracker", "tracker config");
  int n = 0;
  EXPECT_FALSE(o.opt("min_hits", &n));
  EXPECT_EQ(o.finish().message(), "tracker config: expected a JSON object, got [1,2]");
}

TEST(ConfigReader, LongValuesAreCutInMessages) {
  const std::string text = R"({"s": ")" + std::string(200, 'x') + R"("})";
  int n = 0;
  const std::string m = error_of(text, "", [&](ConfigObject& o) { o.opt("s", &n); });
  EXPECT_LT(m.size(), 140u) << m;
  EXPECT_NE(m.find("..."), std::string::npos);
}

std::string nested(size_t depth, char open, char close) {
  return std::string(depth, open) + std::string(depth, close);
}

TEST(ConfigJson, NestingBeyondTheLimitIsRefusedBeforeParsingWithItsPosition) {
  // At the limit: accepted, and the document can be copied, dumped and destroyed.
  auto ok = parse_config_json(nested(kConfigMaxDepth, '[', ']'), "rules config");
  ASSERT_TRUE(ok.is_ok()) << ok.status().message();
  EXPECT_EQ(json(ok.value()).dump().size(), 2 * kConfigMaxDepth);
  // One deeper, and 50,000 deep (the stack overflow once seen through every entry point),
  // objects and arrays mixed.
  for (const std::string& text :
       {nested(kConfigMaxDepth + 1, '[', ']'), nested(50000, '[', ']'),
        R"({"a": )" + std::string(30000, '[') + R"({"b": {"c": 1})" + std::string(30000, ']') + "}",
        std::string(50000, '[')}) {
    auto r = parse_config_json(text, "rules config");
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidConfig);
    const std::string& m = r.status().message();
    EXPECT_EQ(m.rfind("rules config nests arrays and objects deeper than the limit of 64 "
                      "(VAS_CONFIG_MAX_DEPTH) at line 1, column ",
                      0),
              0u)
        << m;
    EXPECT_LT(m.size(), 200u);
  }
  auto r = parse_config_json("{\n \"a\":\n  " + nested(70, '{', '}') + "}", "card");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("at line 3, column 66"), std::string::npos)
      << r.status().message();
  // Brackets inside strings do not count.
  EXPECT_TRUE(parse_config_json(R"({"s": ")" + std::string(500, '[') + R"(\"[["})", "x").is_ok());
}

TEST(ConfigJson, ConfigsOverTheSizeLimitAreRefused) {
  std::string text = R"({"s": ")" + std::string(kConfigMaxBytes, 'x') + R"("})";
  auto r = parse_config_json(text, "pipeline config");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(), "pipeline config is " + std::to_string(text.size()) +
                                      " bytes, over the limit of 1048576 (VAS_CONFIG_MAX_BYTES)");
  text = R"({"s": ")" + std::string(kConfigMaxBytes - 10, 'x') + R"("})";
  EXPECT_TRUE(parse_config_json(text, "pipeline config").is_ok());
}

TEST(ConfigJson, EmbeddedNulIsRefusedNamingTheField) {
  const struct {
    const char* text;
    const char* path;
  } cases[] = {
      {R"({"model": "yolo.onnx\u0000.bak"})", "model"},
      {R"({"channels": [{"id": "a"}, {"id": "cam\u00002"}]})", "channels[1].id"},
      {R"({"sinks": {"mqtt": {"topic": ["x", "\u0000"]}}})", "sinks.mqtt.topic[1]"},
      {R"({"u\u0000rl": "rtsp://x"})", "\"u\\u0000rl\""},
      {R"(["\u0000"])", "[0]"},
      {R"("\u0000")", "(root)"},
  };
  for (const auto& c : cases) {
    auto r = parse_config_json(c.text, "pipeline config");
    ASSERT_FALSE(r.is_ok()) << c.text;
    const std::string& m = r.status().message();
    EXPECT_EQ(m.rfind(std::string("pipeline config: ") + c.path + ": ", 0), 0u) << m;
    EXPECT_NE(m.find("NUL character (\\u0000)"), std::string::npos) << m;
    EXPECT_EQ(m.find('\0'), std::string::npos);
  }
  // Other escapes stay legal.
  EXPECT_TRUE(parse_config_json(R"({"s": "tab\tnew\nline\u0001\u00e9"})", "x").is_ok());
}

TEST(ConfigJson, DuplicateKeysAreRefusedNamingTheField) {
  auto r = parse_config_json(R"({"rules": [{"id": "a", "type": "x", "id": "b"}]})", "rules config");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(),
            "rules config: rules[0].id: duplicate key (each key may appear once)");
  // The same key in sibling objects is fine.
  EXPECT_TRUE(parse_config_json(R"([{"id": 1}, {"id": 2}, {"a": {"id": 3}}])", "x").is_ok());
}

TEST(ConfigJson, MessagesQuoteOnlyAnExcerptOfAValue) {
  // A wide value (100,000 items) at an allowed depth, rejected by a reader for its type.
  std::string big = "[";
  for (int i = 0; i < 100000; ++i) big += (i ? ",\"" : "\"") + std::string(3, 'a') + "\"";
  big += "]";
  auto parsed = parse_config_json(R"({"n": )" + big + "}", "x");
  ASSERT_TRUE(parsed.is_ok());
  ConfigObject o(parsed.value(), "tracker", "");
  int n = 0;
  EXPECT_FALSE(o.opt("n", &n));
  EXPECT_LT(o.status().message().size(), 160u) << o.status().message().substr(0, 300);
  EXPECT_EQ(config_value_text(json(std::string(1000000, 'z'))).size(), 60u);
  EXPECT_EQ(config_value_excerpt(json("short"), 60, false), "short");
  EXPECT_EQ(config_value_text(json::parse("[1, {\"a\": 2}]")), "[1,{\"a\":2}]");
}

}  // namespace
}  // namespace vas
