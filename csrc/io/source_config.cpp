// parse_source_config: a channel's "source" object, read with the common config reader.
#include <nlohmann/json.hpp>
#include <string>

#include "core/config_reader.h"
#include "io/source.h"

namespace vas {

Status parse_source_config(ConfigObject& o, SourceConfig* config) {
  SourceConfig c = *config;
  o.req("url", &c.url);
  o.opt("loop", &c.loop);
  o.opt("realtime", &c.realtime);
  o.opt_choice("transport", &c.transport,
               {{"tcp", std::string("tcp")}, {"udp", std::string("udp")}});
  o.opt("open_timeout_ms", &c.open_timeout_ms, in_range(1, 600000));
  o.opt("read_timeout_ms", &c.read_timeout_ms, in_range(1, 600000));
  o.opt("reconnect_initial_ms", &c.reconnect_initial_ms, in_range(1, 3600000));
  const bool max_given = o.opt("reconnect_max_ms", &c.reconnect_max_ms, in_range(1, 3600000));
  o.opt_choice("format", &c.format,
               {{"bgr24", PixelFormat::kBGR24},
                {"rgb24", PixelFormat::kRGB24},
                {"nv12", PixelFormat::kNV12}});
  if (o.ok() && c.url.empty()) o.fail("url", "must not be empty");
  // An initial delay above the default cap, with no cap given, is a constant delay: configs
  // written when the default cap was 10 s stay valid.
  if (o.ok() && !max_given && c.reconnect_max_ms < c.reconnect_initial_ms) {
    c.reconnect_max_ms = c.reconnect_initial_ms;
  }
  if (o.ok() && c.reconnect_max_ms < c.reconnect_initial_ms) {
    o.fail("reconnect_max_ms", "must be >= reconnect_initial_ms (" +
                                   std::to_string(c.reconnect_initial_ms) + "), got " +
                                   std::to_string(c.reconnect_max_ms));
  }
  VAS_RETURN_IF_ERROR(o.finish());
  *config = c;
  return Status::ok();
}

Result<SourceConfig> parse_source_config(const std::string& json, const std::string& path) {
  const std::string what = path.empty() ? "source config" : path;
  VAS_ASSIGN_OR_RETURN(nlohmann::json doc, parse_config_json(json, what));
  ConfigObject o(doc, path, what);
  SourceConfig c;
  VAS_RETURN_IF_ERROR(parse_source_config(o, &c));
  return c;
}

}  // namespace vas
