// Model packs: one file holding a model and its card, optionally sealed with AES-256-GCM
// (OpenSSL's libcrypto), so that a model shipped on a device cannot simply be copied off it.
//
// Layout (written by `vasdk model pack`, python/vasdk/tools/pack.py):
//   "VASPACK1" | u32 little-endian header length H | H bytes of JSON header | payload | tail
// The header names the pack, the card's and the model's sizes and, when encrypted, the cipher,
// the 96-bit nonce and the key's id (a one-way fingerprint: it tells a wrong key from a damaged
// pack without revealing the key). The payload is the card's bytes then the model's, encrypted
// as one GCM message whose additional data is everything before it (magic, length and header),
// followed by the 16-byte tag. A plain pack ends instead with the SHA-256 of everything before.
//
// Opening decrypts into memory only: locked where the system allows, excluded from core dumps
// and wiped before it is freed. The plain model never touches disk, and no vasdk cache holds it
// or a compiled form of it (the auto backend's cache keeps only a timing choice).
//
// Threat model: a pack protects a model at rest and in transit (copied off a board's storage, a
// firmware image or an update server) from anyone without the key, and detects any change to
// it. It does not protect against whoever can read the key (root, the key file's owner, the
// process environment) or the memory of the running process (a debugger, /proc/PID/mem, a
// modified libvasdk): inference needs the plain weights in memory.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "core/status.h"

namespace vas {

constexpr size_t kPackKeyBytes = 32;
using PackKey = std::array<uint8_t, kPackKeyBytes>;

// Memory for decrypted bytes: anonymous pages, locked when the limit allows, excluded from core
// dumps, zeroed before they are unmapped. Move-only.
class SecureBuffer {
 public:
  SecureBuffer() = default;
  ~SecureBuffer();
  SecureBuffer(SecureBuffer&& o) noexcept;
  SecureBuffer& operator=(SecureBuffer&& o) noexcept;
  SecureBuffer(const SecureBuffer&) = delete;
  SecureBuffer& operator=(const SecureBuffer&) = delete;

  Status allocate(size_t size);
  void reset();
  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;
  bool locked_ = false;
};

// Where a pack's key comes from, in this order: a file (regular, mode 0600 or stricter), an
// environment variable, the process-wide callback, then $VASDK_MODEL_KEY. Keys are written as
// 64 hex digits (surrounding white space ignored).
struct PackKeySource {
  std::string file;
  std::string env;
};

// The process-wide key callback (vas_set_model_key_callback): given the pack's path and key id,
// writes the key and returns OK, or returns an error to decline. Empty to unset.
using PackKeyCallback =
    std::function<Status(const std::string& pack, const std::string& key_id, PackKey* key)>;
void set_pack_key_callback(PackKeyCallback callback);

// The key's public fingerprint: 16 hex digits of SHA-256 over a fixed label and the key.
std::string pack_key_id(const PackKey& key);
// Parses 64 hex digits; `origin` names the source in errors.
Result<PackKey> parse_pack_key(const std::string& text, const std::string& origin);

struct OpenedPack {
  std::string name;  // the pack's name (the model's, when packed)
  bool encrypted = false;
  std::string key_id;     // empty for a plain pack
  std::string card_json;  // the model card (not secret: it says how to feed the model)
  SecureBuffer model;     // the model's bytes
};

// True when the file starts with the pack magic (false for a file that cannot be read).
bool is_model_pack(const std::string& path);

// Reads, checks and (when sealed) decrypts a pack. Errors are kInvalidModel naming the cause: a
// wrong key (by key id), a pack changed after packing (authentication failed), a truncated or
// oversized file, a malformed header; kNotFound for a missing file or key source.
Result<OpenedPack> open_model_pack(const std::string& path, const PackKeySource& key);

}  // namespace vas
