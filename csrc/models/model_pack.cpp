#include "models/model_pack.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "core/config_reader.h"

namespace vas {
namespace {

constexpr char kMagic[8] = {'V', 'A', 'S', 'P', 'A', 'C', 'K', '1'};
constexpr size_t kPrefix = sizeof(kMagic) + 4;  // magic and the header's length
constexpr size_t kMaxHeader = 64 << 10;
constexpr size_t kTagBytes = 16;     // the GCM tag that ends a sealed pack
constexpr size_t kDigestBytes = 32;  // the SHA-256 that ends a plain pack
constexpr size_t kNonceBytes = 12;
constexpr size_t kMaxKeyFile = 4096;
constexpr size_t kMaxPack = size_t{8} << 30;  // read whole: far above any edge model
constexpr const char* kDefaultKeyEnv = "VASDK_MODEL_KEY";
constexpr const char* kKeyIdLabel = "vasdk model pack key id v1";

std::mutex g_callback_mu;
PackKeyCallback g_callback;

std::string to_hex(const uint8_t* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = digits[p[i] >> 4];
    s[2 * i + 1] = digits[p[i] & 15];
  }
  return s;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool from_hex(const std::string& s, uint8_t* out, size_t n) {
  if (s.size() != 2 * n) return false;
  for (size_t i = 0; i < n; ++i) {
    const int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

std::string sha256_hex(const uint8_t* p, size_t n, size_t out_bytes = 32) {
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(p, n, md, &len, EVP_sha256(), nullptr) != 1) return {};
  return to_hex(md, std::min<size_t>(len, out_bytes));
}

uint32_t read_le32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

// Reads a file whole; errors name it.
Status read_file(const std::string& path, const std::string& what, size_t max_bytes,
                 std::vector<uint8_t>* out, struct stat* st_out = nullptr) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    const std::string msg = what + " '" + path + "': " + std::strerror(e);
    return e == ENOENT ? not_found(msg) : io_error(msg);
  }
  std::unique_ptr<int, void (*)(int*)> guard(new int(fd), [](int* f) {
    ::close(*f);
    delete f;
  });
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return invalid_argument(what + " '" + path + "' is not a regular file");
  }
  if (st_out) *st_out = st;
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return invalid_argument(what + " '" + path + "' is " + std::to_string(st.st_size) +
                            " bytes, more than the " + std::to_string(max_bytes) + " allowed");
  }
  out->resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out->size()) {
    const ssize_t n = ::read(fd, out->data() + got, out->size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return io_error(what + " '" + path + "': read failed after " + std::to_string(got) +
                      " bytes");
    got += static_cast<size_t>(n);
  }
  return Status::ok();
}

Result<PackKey> key_from_file(const std::string& path) {
  std::vector<uint8_t> text;
  struct stat st {};
  VAS_RETURN_IF_ERROR(read_file(path, "key file", kMaxKeyFile, &text, &st));
  // Like ssh with private keys: a key others can read is no secret.
  if ((st.st_mode & 077) != 0) {
    OPENSSL_cleanse(text.data(), text.size());
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return invalid_argument("key file '" + path + "' is readable or writable by others (mode " +
                            mode + "); chmod 600 it");
  }
  std::string s(text.begin(), text.end());
  OPENSSL_cleanse(text.data(), text.size());
  auto key = parse_pack_key(s, "key file '" + path + "'");
  OPENSSL_cleanse(s.data(), s.size());
  return key;
}

Result<PackKey> key_from_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr || *v == '\0') return not_found("environment variable " + name + " is not set");
  return parse_pack_key(v, "environment variable " + name);
}

// The key for a sealed pack, and where it came from (for messages).
Result<PackKey> resolve_key(const std::string& path, const std::string& key_id,
                            const PackKeySource& src, std::string* origin) {
  if (!src.file.empty()) {
    *origin = "key file '" + src.file + "'";
    return key_from_file(src.file);
  }
  if (!src.env.empty()) {
    *origin = "environment variable " + src.env;
    return key_from_env(src.env);
  }
  std::string declined;
  PackKeyCallback cb;
  {
    std::lock_guard<std::mutex> lock(g_callback_mu);
    cb = g_callback;
  }
  if (cb) {
    PackKey key{};
    const Status st = cb(path, key_id, &key);
    if (st.is_ok()) {
      *origin = "the key callback";
      return key;
    }
    OPENSSL_cleanse(key.data(), key.size());
    declined = "; the key callback declined (" + st.message() + ")";
  }
  if (std::getenv(kDefaultKeyEnv) != nullptr) {
    *origin = std::string("environment variable ") + kDefaultKeyEnv;
    return key_from_env(kDefaultKeyEnv);
  }
  return not_found("model pack '" + path + "' is encrypted (key id " + key_id +
                   ") and no key was given" + declined +
                   ": set the detector option key_file or key_env, register "
                   "vas_set_model_key_callback(), or set " +
                   kDefaultKeyEnv);
}

struct CipherCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
};

// GCM in pieces: EVP takes int lengths.
bool gcm_update(EVP_CIPHER_CTX* ctx, const uint8_t* in, size_t n, uint8_t* out) {
  constexpr size_t kChunk = size_t{1} << 30;
  while (n > 0) {
    const size_t step = std::min(n, kChunk);
    int len = 0;
    if (EVP_DecryptUpdate(ctx, out, &len, in, static_cast<int>(step)) != 1) return false;
    in += step;
    out += step;
    n -= step;
  }
  return true;
}

}  // namespace

SecureBuffer::~SecureBuffer() { reset(); }

SecureBuffer::SecureBuffer(SecureBuffer&& o) noexcept { *this = std::move(o); }

SecureBuffer& SecureBuffer::operator=(SecureBuffer&& o) noexcept {
  if (this != &o) {
    reset();
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(mapped_, o.mapped_);
    std::swap(locked_, o.locked_);
  }
  return *this;
}

Status SecureBuffer::allocate(size_t size) {
  reset();
  if (size == 0) return Status::ok();
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t mapped = (size + page - 1) / page * page;
  void* p = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    return {StatusCode::kOutOfMemory,
            "cannot map " + std::to_string(size) + " bytes for a decrypted model"};
  }
#ifdef MADV_DONTDUMP
  ::madvise(p, mapped, MADV_DONTDUMP);
#endif
  // Locking keeps the pages out of swap; it fails beyond RLIMIT_MEMLOCK, which is no error.
  locked_ = ::mlock(p, mapped) == 0;
  data_ = static_cast<uint8_t*>(p);
  size_ = size;
  mapped_ = mapped;
  return Status::ok();
}

void SecureBuffer::reset() {
  if (data_ == nullptr) return;
  OPENSSL_cleanse(data_, mapped_);
  if (locked_) ::munlock(data_, mapped_);
  ::munmap(data_, mapped_);
  data_ = nullptr;
  size_ = mapped_ = 0;
  locked_ = false;
}

void set_pack_key_callback(PackKeyCallback callback) {
  std::lock_guard<std::mutex> lock(g_callback_mu);
  g_callback = std::move(callback);
}

std::string pack_key_id(const PackKey& key) {
  std::vector<uint8_t> msg(kKeyIdLabel, kKeyIdLabel + std::strlen(kKeyIdLabel));
  msg.insert(msg.end(), key.begin(), key.end());
  std::string id = sha256_hex(msg.data(), msg.size(), 8);
  OPENSSL_cleanse(msg.data(), msg.size());
  return id;
}

Result<PackKey> parse_pack_key(const std::string& text, const std::string& origin) {
  auto first = text.find_first_not_of(" \t\r\n");
  auto last = text.find_last_not_of(" \t\r\n");
  const std::string hex = first == std::string::npos ? "" : text.substr(first, last - first + 1);
  PackKey key{};
  const bool ok = from_hex(hex, key.data(), key.size());
  const size_t len = hex.size();
  std::string scrub = hex;
  OPENSSL_cleanse(scrub.data(), scrub.size());
  if (!ok) {
    OPENSSL_cleanse(key.data(), key.size());
    return invalid_argument(
        origin + " does not hold a model pack key: expected 64 hex digits, got " +
        std::to_string(len) + " characters" + (len == 64 ? " with a non-hex digit" : ""));
  }
  return key;
}

bool is_model_pack(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char head[sizeof(kMagic)] = {};
  const ssize_t n = ::read(fd, head, sizeof(head));
  ::close(fd);
  return n == static_cast<ssize_t>(sizeof(head)) && std::memcmp(head, kMagic, sizeof(head)) == 0;
}

Result<OpenedPack> open_model_pack(const std::string& path, const PackKeySource& key_source) {
  std::vector<uint8_t> file;
  VAS_RETURN_IF_ERROR(read_file(path, "model pack", kMaxPack, &file));
  const std::string what = "model pack '" + path + "'";
  if (file.size() < kPrefix || std::memcmp(file.data(), kMagic, sizeof(kMagic)) != 0) {
    return invalid_model(what + " does not start with the pack magic VASPACK1");
  }
  const size_t header_len = read_le32(file.data() + sizeof(kMagic));
  if (header_len == 0 || header_len > kMaxHeader) {
    return invalid_model(what + ": header length " + std::to_string(header_len) +
                         " is outside 1.." + std::to_string(kMaxHeader));
  }
  if (file.size() < kPrefix + header_len) {
    return invalid_model(what + " is truncated: " + std::to_string(file.size()) +
                         " bytes, shorter than its header");
  }
  const std::string header_text(reinterpret_cast<const char*>(file.data() + kPrefix), header_len);
  auto parsed = parse_config_json(header_text, what + " header");
  if (!parsed.is_ok()) return invalid_model(parsed.status().message());
  const nlohmann::json doc = std::move(parsed).value();
  ConfigObject h(doc, "", what + " header");
  OpenedPack pack;
  int format = 0;
  int64_t card_bytes = 0, model_bytes = 0;
  std::string encryption = "none", nonce_hex;
  h.req("format", &format, in_range(1, 1));
  h.req("name", &pack.name);
  h.req("card_bytes", &card_bytes, in_range(2, 1 << 24));
  h.req("model_bytes", &model_bytes, in_range(1, static_cast<double>(kMaxPack)));
  h.opt("encryption", &encryption);
  if (encryption == "aes-256-gcm") {
    h.req("nonce", &nonce_hex);
    h.req("key_id", &pack.key_id);
  } else if (encryption != "none") {
    h.fail("encryption", "'" + encryption.substr(0, 32) + "' is not one of none, aes-256-gcm");
  }
  Status hs = h.finish();
  if (!hs.is_ok()) return invalid_model(hs.message());
  pack.encrypted = encryption != "none";

  const size_t payload = static_cast<size_t>(card_bytes) + static_cast<size_t>(model_bytes);
  const size_t body = kPrefix + header_len;
  const size_t want = body + payload + (pack.encrypted ? kTagBytes : kDigestBytes);
  if (file.size() < want) {
    return invalid_model(what + " is truncated: " + std::to_string(file.size()) +
                         " bytes, its header declares " + std::to_string(want));
  }
  if (file.size() > want) {
    return invalid_model(what + " has " + std::to_string(file.size() - want) +
                         " bytes beyond the " + std::to_string(want) + " its header declares");
  }
  const uint8_t* in = file.data() + body;
  Status st = pack.model.allocate(static_cast<size_t>(model_bytes));
  if (!st.is_ok()) return st;
  std::vector<uint8_t> card(static_cast<size_t>(card_bytes));

  if (!pack.encrypted) {
    // The digest covers everything before it, the header included.
    if (sha256_hex(file.data(), body + payload) != to_hex(in + payload, kDigestBytes)) {
      return invalid_model(what + " failed its checksum: it was changed or damaged after packing");
    }
    std::memcpy(card.data(), in, card.size());
    std::memcpy(pack.model.data(), in + card.size(), pack.model.size());
  } else {
    uint8_t nonce[kNonceBytes];
    if (!from_hex(nonce_hex, nonce, sizeof(nonce))) {
      return invalid_model(what + " header: nonce must be 24 hex digits");
    }
    std::string origin;
    VAS_ASSIGN_OR_RETURN(PackKey key, resolve_key(path, pack.key_id, key_source, &origin));
    const std::string given_id = pack_key_id(key);
    if (given_id != pack.key_id) {
      OPENSSL_cleanse(key.data(), key.size());
      return invalid_model("wrong key for " + what + ": it was sealed with key id " + pack.key_id +
                           ", the key from " + origin + " has id " + given_id);
    }
    CipherCtx c;
    int len = 0;
    bool ok = c.ctx != nullptr &&
              EVP_DecryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
              EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
              EVP_DecryptInit_ex(c.ctx, nullptr, nullptr, key.data(), nonce) == 1;
    OPENSSL_cleanse(key.data(), key.size());
    // Everything before the payload is authenticated too: a changed size or name is caught.
    ok = ok && EVP_DecryptUpdate(c.ctx, nullptr, &len, file.data(), static_cast<int>(body)) == 1;
    ok = ok && gcm_update(c.ctx, in, card.size(), card.data());
    ok = ok && gcm_update(c.ctx, in + card.size(), pack.model.size(), pack.model.data());
    std::vector<uint8_t> tag(file.end() - kTagBytes, file.end());
    ok = ok && EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1;
    if (!ok) return internal_error(what + ": the cipher could not be set up (libcrypto)");
    if (EVP_DecryptFinal_ex(c.ctx, nullptr, &len) != 1) {
      pack.model.reset();
      OPENSSL_cleanse(card.data(), card.size());
      return invalid_model(what + " failed authentication: it was changed or damaged after " +
                           "packing (the key matches its key id)");
    }
  }
  pack.card_json.assign(card.begin(), card.end());
  return pack;
}

}  // namespace vas
