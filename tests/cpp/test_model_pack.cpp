// Model packs (models/model_pack.h): sealed and plain packs open to the same model and card, a
// detector runs from one, and every way a pack or its key can be wrong is a clear error.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/auto_backend.h"
#include "models/detector.h"
#include "models/model_pack.h"
#include "test_util.h"

namespace vas {
namespace {

using testing::asset;
using testing::read_file;
using testing::write_file;
namespace fs = std::filesystem;

std::string hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += {d[p[i] >> 4], d[p[i] & 15]};
  return s;
}

std::string le32(uint32_t v) {
  return {static_cast<char>(v & 255), static_cast<char>(v >> 8 & 255),
          static_cast<char>(v >> 16 & 255), static_cast<char>(v >> 24 & 255)};
}

// The pack writer of python/vasdk/tools/pack.py, for the C++ tests (the Python tests cover that
// one against this reader).
std::string make_pack(const std::string& card, const std::string& model, const PackKey* key) {
  const std::string payload = card + model;
  std::string header = "{\"card_bytes\":" + std::to_string(card.size()) +
                       ",\"format\":1,\"model_bytes\":" + std::to_string(model.size()) +
                       ",\"name\":\"test\"";
  uint8_t nonce[12];
  if (key == nullptr) {
    header += ",\"encryption\":\"none\"}";
  } else {
    RAND_bytes(nonce, sizeof(nonce));
    header += ",\"encryption\":\"aes-256-gcm\",\"nonce\":\"" + hex(nonce, 12) + "\",\"key_id\":\"" +
              pack_key_id(*key) + "\"}";
  }
  const std::string prefix = "VASPACK1" + le32(static_cast<uint32_t>(header.size())) + header;
  if (key == nullptr) {
    const std::string body = prefix + payload;
    uint8_t md[32];
    unsigned int len = 0;
    EVP_Digest(body.data(), body.size(), md, &len, EVP_sha256(), nullptr);
    return body + std::string(reinterpret_cast<char*>(md), 32);
  }
  std::string out(payload.size(), '\0');
  uint8_t tag[16];
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  int len = 0;
  EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), nullptr, key->data(), nonce);
  EVP_EncryptUpdate(c, nullptr, &len, reinterpret_cast<const uint8_t*>(prefix.data()),
                    static_cast<int>(prefix.size()));
  EVP_EncryptUpdate(c, reinterpret_cast<uint8_t*>(out.data()), &len,
                    reinterpret_cast<const uint8_t*>(payload.data()),
                    static_cast<int>(payload.size()));
  EVP_EncryptFinal_ex(c, nullptr, &len);
  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
  EVP_CIPHER_CTX_free(c);
  return prefix + out + std::string(reinterpret_cast<char*>(tag), 16);
}

PackKey key_of(uint8_t seed) {
  PackKey k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(seed + 7 * i);
  return k;
}

class ModelPackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::temp_dir() + "/vas_pack_" + std::to_string(::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    key_ = key_of(3);
    key_file_ = dir_ + "/key";
    write_file(key_file_, hex(key_.data(), key_.size()) + "\n");
    ::chmod(key_file_.c_str(), 0600);
    ::unsetenv("VASDK_MODEL_KEY");
    set_pack_key_callback(nullptr);
  }
  void TearDown() override {
    set_pack_key_callback(nullptr);
    fs::remove_all(dir_);
  }
  std::string put(const std::string& name, const std::string& bytes) {
    write_file(dir_ + "/" + name, bytes);
    return dir_ + "/" + name;
  }
  std::string dir_, key_file_;
  PackKey key_{};
};

TEST_F(ModelPackTest, SealedAndPlainPacksOpenToTheSameBytes) {
  const std::string card = "{\"name\":\"m\"}", model(100000, 'x');
  const std::string sealed = put("s.vaspack", make_pack(card, model, &key_));
  const std::string plain = put("p.vaspack", make_pack(card, model, nullptr));
  EXPECT_TRUE(is_model_pack(sealed));
  EXPECT_FALSE(is_model_pack(asset("yolov3-tiny.onnx")));
  // The ciphertext does not hold the model in the clear.
  EXPECT_EQ(read_file(sealed).find(std::string(64, 'x')), std::string::npos);
  for (const std::string& path : {sealed, plain}) {
    auto p = open_model_pack(path, PackKeySource{key_file_, ""});
    ASSERT_TRUE(p.is_ok()) << p.status().message();
    EXPECT_EQ(p->card_json, card);
    ASSERT_EQ(p->model.size(), model.size());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(p->model.data()), p->model.size()), model);
    EXPECT_EQ(p->encrypted, path == sealed);
  }
}

TEST_F(ModelPackTest, DetectorFromASealedPackMatchesThePlainModel) {
  const std::string onnx = asset("yolov3-tiny.onnx");
  std::string card_path = onnx.substr(0, onnx.size() - 5) + ".json";
  const std::string pack =
      put("yolo.vaspack", make_pack(read_file(card_path), read_file(onnx), &key_));
  // The auto backend's cache must not receive the model (or a compiled form of it).
  const std::string cache = dir_ + "/cache";
  ::setenv("VASDK_CACHE_DIR", cache.c_str(), 1);
  auto opts = parse_detector_options(R"({"threads": 1, "backend": "auto", "key_file": ")" +
                                     key_file_ + "\"}");
  ASSERT_TRUE(opts.is_ok()) << opts.status().message();
  auto packed = Detector::create(pack, opts.value());
  ::unsetenv("VASDK_CACHE_DIR");
  ASSERT_TRUE(packed.is_ok()) << packed.status().message();
  // Compared on the backend "auto" chose (OpenVINO wins on some CPUs, and its scores differ
  // from ORT's in the third decimal).
  const std::string name = packed.value()->engine().backend_name();  // "ort 1.x", "openvino 2026.x"
  const std::string backend = name.substr(0, name.find(' '));
  auto plain = Detector::create(
      onnx, parse_detector_options(R"({"threads": 1, "backend": ")" + backend + "\"}").value());
  ASSERT_TRUE(plain.is_ok()) << plain.status().message();
  Image frame = testing::read_frame(asset("vtest.avi"), 300);
  std::vector<Detection> a, b;
  ASSERT_TRUE(packed.value()->detect(frame.view(), &a).is_ok());
  ASSERT_TRUE(plain.value()->detect(frame.view(), &b).is_ok());
  ASSERT_GT(b.size(), 3u);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(a[i].x1, b[i].x1, 0.5f);
    EXPECT_NEAR(a[i].score, b[i].score, 1e-3f);
  }
  // No file written anywhere under the cache holds a slice of the weights.
  const std::string weights = read_file(onnx);
  const std::string probe = weights.substr(weights.size() / 2, 256);
  // (With one backend present, as under sanitizers, nothing is measured or written.)
  if (!fs::exists(cache)) return;
  for (const auto& e : fs::recursive_directory_iterator(cache)) {
    if (e.is_regular_file()) {
      EXPECT_EQ(read_file(e.path().string()).find(probe), std::string::npos) << e.path();
    }
  }
}

TEST_F(ModelPackTest, WrongKeyNamesBothKeyIds) {
  const std::string pack = put("s.vaspack", make_pack("{}", "model", &key_));
  const PackKey other = key_of(9);
  const std::string other_file = put("other", hex(other.data(), other.size()));
  ::chmod(other_file.c_str(), 0600);
  auto p = open_model_pack(pack, PackKeySource{other_file, ""});
  ASSERT_FALSE(p.is_ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(p.status().message().find("wrong key"), std::string::npos) << p.status().message();
  EXPECT_NE(p.status().message().find(pack_key_id(key_)), std::string::npos);
  EXPECT_NE(p.status().message().find(pack_key_id(other)), std::string::npos);
}

TEST_F(ModelPackTest, EveryChangedByteIsCaught) {
  for (const PackKey* key :
       {static_cast<const PackKey*>(&key_), static_cast<const PackKey*>(nullptr)}) {
    const std::string good = make_pack("{\"name\":\"m\"}", std::string(3000, 'w'), key);
    // Every byte of the prefix and header, then a stride through the payload and the tag.
    std::vector<size_t> at;
    for (size_t i = 0; i < 300 && i < good.size(); ++i) at.push_back(i);
    for (size_t i = 300; i < good.size(); i += 97) at.push_back(i);
    at.push_back(good.size() - 1);
    for (size_t i : at) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ 0x20);
      const std::string path = put("bad.vaspack", bad);
      auto p = open_model_pack(path, PackKeySource{key_file_, ""});
      ASSERT_FALSE(p.is_ok()) << "byte " << i << (key ? " (sealed)" : " (plain)");
      EXPECT_EQ(p.status().code(), StatusCode::kInvalidModel)
          << "byte " << i << ": " << p.status().message();
    }
  }
}

TEST_F(ModelPackTest, TruncatedAndExtendedPacksAreRefused) {
  const std::string good = make_pack("{\"name\":\"m\"}", std::string(5000, 'w'), &key_);
  for (size_t n : {size_t{0}, size_t{7}, size_t{11}, size_t{40}, good.size() / 2, good.size() - 16,
                   good.size() - 1}) {
    auto p = open_model_pack(put("t.vaspack", good.substr(0, n)), PackKeySource{key_file_, ""});
    ASSERT_FALSE(p.is_ok()) << n;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidModel) << n << ": " << p.status().message();
    if (n > good.size() / 3) {
      EXPECT_NE(p.status().message().find("truncated"), std::string::npos) << p.status().message();
    }
  }
  auto p = open_model_pack(put("x.vaspack", good + "junk"), PackKeySource{key_file_, ""});
  ASSERT_FALSE(p.is_ok());
  EXPECT_NE(p.status().message().find("4 bytes beyond"), std::string::npos) << p.status().message();
}

TEST_F(ModelPackTest, KeySourcesInOrderAndTheirErrors) {
  const std::string pack = put("s.vaspack", make_pack("{}", "model", &key_));
  const std::string key_hex = hex(key_.data(), key_.size());
  // None given: the message says every way to give one.
  auto none = open_model_pack(pack, {});
  ASSERT_FALSE(none.is_ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  for (const char* how : {"key_file", "key_env", "vas_set_model_key_callback", "VASDK_MODEL_KEY"}) {
    EXPECT_NE(none.status().message().find(how), std::string::npos) << none.status().message();
  }
  // A key file others can read is refused, whatever it holds.
  ::chmod(key_file_.c_str(), 0644);
  auto loose = open_model_pack(pack, PackKeySource{key_file_, ""});
  ASSERT_FALSE(loose.is_ok());
  EXPECT_NE(loose.status().message().find("chmod 600"), std::string::npos);
  ::chmod(key_file_.c_str(), 0600);
  // Not hex, wrong length.
  const std::string junk = put("junk", "not a key");
  ::chmod(junk.c_str(), 0600);
  auto bad = open_model_pack(pack, PackKeySource{junk, ""});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("64 hex digits"), std::string::npos);
  // A named environment variable.
  ::setenv("VAS_TEST_PACK_KEY", key_hex.c_str(), 1);
  EXPECT_TRUE(open_model_pack(pack, PackKeySource{"", "VAS_TEST_PACK_KEY"}).is_ok());
  ::unsetenv("VAS_TEST_PACK_KEY");
  auto unset = open_model_pack(pack, PackKeySource{"", "VAS_TEST_PACK_KEY"});
  ASSERT_FALSE(unset.is_ok());
  EXPECT_NE(unset.status().message().find("VAS_TEST_PACK_KEY is not set"), std::string::npos);
  // The callback sees the pack and its key id; declining falls through to VASDK_MODEL_KEY.
  std::string seen_id;
  bool give = true;
  set_pack_key_callback([&](const std::string& path, const std::string& id, PackKey* k) {
    seen_id = id;
    EXPECT_EQ(path, pack);
    if (!give) return not_found("no key for " + id);
    *k = key_;
    return Status::ok();
  });
  EXPECT_TRUE(open_model_pack(pack, {}).is_ok());
  EXPECT_EQ(seen_id, pack_key_id(key_));
  give = false;
  auto declined = open_model_pack(pack, {});
  ASSERT_FALSE(declined.is_ok());
  EXPECT_NE(declined.status().message().find("callback declined"), std::string::npos);
  ::setenv("VASDK_MODEL_KEY", key_hex.c_str(), 1);
  EXPECT_TRUE(open_model_pack(pack, {}).is_ok());
  ::unsetenv("VASDK_MODEL_KEY");
}

TEST_F(ModelPackTest, DetectorRefusesACardOptionAndAnUnreadablePack) {
  const std::string pack = put("s.vaspack", make_pack("{}", "model", &key_));
  auto opts = parse_detector_options(R"({"card": "x.json"})");
  ASSERT_TRUE(opts.is_ok());
  auto d = Detector::create(pack, opts.value());
  ASSERT_FALSE(d.is_ok());
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidConfig);
  // A sealed pack whose key is right but whose card is not a card: a card error, no crash.
  auto o2 = parse_detector_options("{\"key_file\": \"" + key_file_ + "\"}");
  ASSERT_TRUE(o2.is_ok());
  auto d2 = Detector::create(pack, o2.value());
  ASSERT_FALSE(d2.is_ok());
  EXPECT_NE(d2.status().message().find("card"), std::string::npos) << d2.status().message();
}

}  // namespace
}  // namespace vas
