#include "sinks/sink_set.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>

#include "core/config_reader.h"
#include "sinks/backends.h"

namespace vas {
namespace {

struct Common {
  std::string type, name;
  std::vector<std::string> kinds;
  OutboxConfig outbox;
};

void read_common(ConfigObject& o, Common* c) {
  o.allow("type");
  o.opt("name", &c->name);
  o.opt("kinds", &c->kinds);
  int64_t capacity = static_cast<int64_t>(c->outbox.capacity);
  if (o.opt("outbox", &capacity, in_range(1, 10000000)))
    c->outbox.capacity = static_cast<size_t>(capacity);
  o.opt("reconnect_initial_ms", &c->outbox.reconnect_initial_ms, in_range(1, 3600000));
  o.opt("reconnect_max_ms", &c->outbox.reconnect_max_ms, in_range(1, 3600000));
  if (o.ok() && c->outbox.reconnect_max_ms < c->outbox.reconnect_initial_ms)
    o.fail("reconnect_max_ms", "must be >= reconnect_initial_ms");
}

void read_jsonl(ConfigObject& o, JsonlSinkConfig* c) {
  o.req("path", &c->path);
  int64_t max_bytes = static_cast<int64_t>(c->max_bytes);
  if (o.opt("max_bytes", &max_bytes, at_least(1))) c->max_bytes = static_cast<uint64_t>(max_bytes);
  o.opt("max_files", &c->max_files, in_range(1, 1000));
  o.opt("fsync", &c->fsync);
  if (o.ok() && c->path.empty()) o.fail("path", "must not be empty");
}

void read_mqtt(ConfigObject& o, MqttSinkConfig* c) {
  o.opt("host", &c->host);
  o.opt("port", &c->port, in_range(1, 65535));
  o.opt("topic_prefix", &c->topic_prefix);
  o.opt("qos", &c->qos, in_range(0, 1));
  o.opt("client_id", &c->client_id);
  o.opt("keepalive_s", &c->keepalive_s, in_range(5, 65535));
  o.opt("username", &c->username);
  o.opt("password", &c->password);
  o.opt("max_inflight", &c->max_inflight, in_range(1, 65535));
  o.opt("connect_timeout_ms", &c->connect_timeout_ms, in_range(100, 600000));
  o.opt("retain", &c->retain);
  read_tls(o, &c->tls);
  if (o.ok() && c->host.empty()) o.fail("host", "must not be empty");
  if (o.ok() && (c->topic_prefix.find_first_of("+#") != std::string::npos))
    o.fail("topic_prefix", "must not contain the wildcards + or #");
}

void read_kafka(ConfigObject& o, KafkaSinkConfig* c) {
  o.req("brokers", &c->brokers);
  o.opt("topic", &c->topic);
  o.opt("max_inflight", &c->max_inflight, in_range(1, 10000000));
  o.opt("message_timeout_ms", &c->message_timeout_ms, in_range(100, 3600000));
  read_tls(o, &c->tls);
  read_kafka_properties(o, &c->properties);
  if (o.ok() && c->topic.empty()) o.fail("topic", "must not be empty");
}

void read_store(ConfigObject& o, BestShotStoreConfig* c) {
  o.req("dir", &c->dir);
  o.opt("max_count", &c->max_count, at_least(0));
  o.opt("max_bytes", &c->max_bytes, at_least(0));
  o.opt("max_age_s", &c->max_age_s, at_least(0));
  if (o.ok() && c->dir.empty()) o.fail("dir", "must not be empty");
}

}  // namespace

bool SinkSet::Route::takes(const std::string& kind) const {
  return kinds.empty() || std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

Result<std::unique_ptr<SinkSet>> SinkSet::create(const std::string& configs_json,
                                                 const SinkEventCallback& on_event) {
  VAS_ASSIGN_OR_RETURN(nlohmann::json doc, parse_config_json(configs_json, "sinks config"));
  if (!doc.is_array())
    return invalid_config("sinks config: expected a list of sink objects, got " +
                          config_value_text(doc));
  // Parse everything first: nothing starts unless the whole list is valid.
  struct Parsed {
    Common common;
    JsonlSinkConfig jsonl;
    MqttSinkConfig mqtt;
    KafkaSinkConfig kafka;
    BestShotStoreConfig store;
  };
  std::vector<Parsed> parsed(doc.size());
  std::map<std::string, int> type_count;
  for (size_t i = 0; i < doc.size(); ++i) {
    const std::string path = "sinks[" + std::to_string(i) + "]";
    ConfigObject o(doc[i], path, path);
    Parsed& p = parsed[i];
    o.opt_choice("type", &p.common.type,
                 {{"jsonl", std::string("jsonl")},
                  {"mqtt", std::string("mqtt")},
                  {"kafka", std::string("kafka")},
                  {"best_shot", std::string("best_shot")}},
                 true);
    read_common(o, &p.common);
    if (p.common.type == "jsonl") read_jsonl(o, &p.jsonl);
    if (p.common.type == "mqtt") read_mqtt(o, &p.mqtt);
    if (p.common.type == "kafka") read_kafka(o, &p.kafka);
    if (p.common.type == "best_shot") read_store(o, &p.store);
    VAS_RETURN_IF_ERROR(o.finish());
    ++type_count[p.common.type];
  }
  if (type_count["best_shot"] > 1)
    return invalid_config("sinks config: at most one sink of type 'best_shot'");
  std::map<std::string, int> seen;
  for (size_t i = 0; i < parsed.size(); ++i) {
    Common& c = parsed[i].common;
    if (c.name.empty()) c.name = type_count[c.type] > 1 ? c.type + "-" + std::to_string(i) : c.type;
    if (seen.count(c.name))
      return invalid_config("sinks[" + std::to_string(i) + "].name: '" + c.name +
                            "' is already used by sinks[" + std::to_string(seen[c.name]) + "]");
    seen[c.name] = static_cast<int>(i);
  }

  std::unique_ptr<SinkSet> set(new SinkSet());
  set->routes_.reserve(parsed.size());  // store_ points into routes_
  for (size_t i = 0; i < parsed.size(); ++i) {
    Parsed& p = parsed[i];
    std::unique_ptr<SinkBackend> backend;
    if (p.common.type == "jsonl") {
      backend = make_jsonl_backend(p.jsonl);
    } else if (p.common.type == "mqtt") {
      auto b = make_mqtt_backend(p.mqtt, p.common.name);
      if (!b.is_ok()) return b.status().with_context("sinks[" + std::to_string(i) + "]");
      backend = std::move(b).value();
    } else if (p.common.type == "kafka") {
      auto b = make_kafka_backend(p.kafka, p.common.name);
      if (!b.is_ok()) return b.status().with_context("sinks[" + std::to_string(i) + "]");
      backend = std::move(b).value();
    } else {
      SinkSet* raw = set.get();
      backend =
          make_best_shot_backend(p.store, [raw](SinkMessage m) { raw->forward(std::move(m)); });
    }
    Route r;
    r.kinds = p.common.kinds;
    r.store = p.common.type == "best_shot";
    r.sink = std::make_unique<Sink>(p.common.name, std::move(backend), p.common.outbox, on_event);
    set->routes_.push_back(std::move(r));
    if (set->routes_.back().store) set->store_ = &set->routes_.back();
  }
  return set;
}

SinkSet::~SinkSet() { (void)close(1000); }

void SinkSet::forward(SinkMessage m) {
  Route* last = nullptr;
  for (Route& r : routes_) {
    if (r.store || !r.takes(m.kind)) continue;
    if (last) last->sink->publish(SinkMessage(m));
    last = &r;
  }
  if (last) last->sink->publish(std::move(m));
}

void SinkSet::publish(SinkMessage m) {
  if (!m.image.empty() && store_ && store_->takes(m.kind)) {
    if (store_->sink->publish(m)) return;  // moved from only when accepted
    // The store is backed up (counted there): the message still reaches the other sinks, with
    // the reason its image is missing.
    nlohmann::json j = nlohmann::json::parse(m.json, nullptr, false);
    if (j.is_object()) {
      j["image_error"] = "best-shot store '" + store_->sink->name() + "' is full or closing";
      m.json = j.dump();
    }
  }
  m.image.clear();
  m.image.shrink_to_fit();
  forward(std::move(m));
}

std::vector<SinkStats> SinkSet::stats() const {
  std::vector<SinkStats> out;
  out.reserve(routes_.size());
  for (const Route& r : routes_) out.push_back(r.sink->stats());
  return out;
}

Status SinkSet::close(int flush_timeout_ms) {
  if (closed_) return Status::ok();
  closed_ = true;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(flush_timeout_ms);
  const auto left_ms = [&] {
    return static_cast<int>(std::max<int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now())
               .count()));
  };
  std::string late;
  const auto close_one = [&](Route& r) {
    const Status st = r.sink->close(left_ms());
    if (!st.is_ok()) late += (late.empty() ? "" : "; ") + st.message();
  };
  if (store_) close_one(*store_);
  for (Route& r : routes_) {
    if (!r.store) close_one(r);
  }
  if (!late.empty()) return {StatusCode::kTimeout, late};
  return Status::ok();
}

}  // namespace vas
