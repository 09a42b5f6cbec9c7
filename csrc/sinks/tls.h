// TLS settings shared by the MQTT sink, the Kafka sink and the Kafka cluster membership, and
// the JSON readers for them ("tls": {...}, "properties": {...}).
#pragma once

#include <map>
#include <string>

#include "core/config_reader.h"

namespace vas {

struct TlsConfig {
  bool enabled = false;
  std::string ca_file;    // trusted CA(s), PEM; empty = the system's store
  std::string cert_file;  // client certificate (mutual TLS), optional
  std::string key_file;   // its private key
  bool verify = true;     // verify the broker's certificate chain and host name
};

// Reads parent's optional "tls" object into *tls (enabled when present). Errors name the field,
// e.g. "sinks[1].tls.key_file".
void read_tls(ConfigObject& parent, TlsConfig* tls);

// Reads parent's optional "properties" object of strings (passed to librdkafka as they are).
void read_kafka_properties(ConfigObject& parent, std::map<std::string, std::string>* props);

// kNotFound naming the field and the path when a file of `tls` cannot be read (librdkafka's own
// message names neither).
Status check_tls_files(const TlsConfig& tls);

// librdkafka properties for `tls` (security.protocol=ssl and the ssl.* locations); empty when
// TLS is off.
std::map<std::string, std::string> kafka_tls_properties(const TlsConfig& tls);

}  // namespace vas
