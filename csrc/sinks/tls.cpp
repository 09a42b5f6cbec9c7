#include "sinks/tls.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace vas {

void read_tls(ConfigObject& parent, TlsConfig* tls) {
  ConfigObject t = parent.object("tls");
  if (!t.present()) return;
  tls->enabled = true;
  t.opt("ca_file", &tls->ca_file);
  t.opt("cert_file", &tls->cert_file);
  t.opt("key_file", &tls->key_file);
  t.opt("verify", &tls->verify);
  if (t.ok() && tls->cert_file.empty() != tls->key_file.empty())
    t.fail(tls->cert_file.empty() ? "cert_file" : "key_file", "cert_file and key_file go together");
  if (t.ok() && tls->ca_file.empty() && !tls->cert_file.empty())
    t.fail("ca_file", "required with a client certificate");
  (void)t.finish();
}

void read_kafka_properties(ConfigObject& o, std::map<std::string, std::string>* props) {
  const nlohmann::json* p = o.raw("properties");
  if (!p) return;
  if (!p->is_object()) {
    o.fail("properties", "expected an object of strings, got " + config_value_text(*p));
    return;
  }
  for (auto it = p->begin(); it != p->end(); ++it) {
    if (!it.value().is_string()) {
      o.fail("properties." + it.key(), "expected a string, got " + config_value_text(it.value()));
      return;
    }
    (*props)[it.key()] = it.value().get<std::string>();
  }
}

Status check_tls_files(const TlsConfig& tls) {
  if (!tls.enabled) return Status::ok();
  const std::pair<const char*, const std::string*> files[] = {
      {"ca_file", &tls.ca_file}, {"cert_file", &tls.cert_file}, {"key_file", &tls.key_file}};
  for (const auto& [field, path] : files) {
    if (!path->empty() && access(path->c_str(), R_OK) != 0) {
      return not_found(std::string("tls.") + field + ": cannot read " + *path + ": " +
                       std::strerror(errno));
    }
  }
  return Status::ok();
}

std::map<std::string, std::string> kafka_tls_properties(const TlsConfig& tls) {
  if (!tls.enabled) return {};
  std::map<std::string, std::string> p = {
      {"security.protocol", "ssl"},
      {"enable.ssl.certificate.verification", tls.verify ? "true" : "false"},
      // Host name checking too, unless verification is off altogether.
      {"ssl.endpoint.identification.algorithm", tls.verify ? "https" : "none"},
  };
  if (!tls.ca_file.empty()) p["ssl.ca.location"] = tls.ca_file;
  if (!tls.cert_file.empty()) p["ssl.certificate.location"] = tls.cert_file;
  if (!tls.key_file.empty()) p["ssl.key.location"] = tls.key_file;
  return p;
}

}  // namespace vas
