// Fuzzes the C API entry points with random struct contents, as a careless or hostile caller
// would fill them: struct_size values from 0 to past the end, NULL and random strings, random
// pixel formats, sizes and strides, and out-structs of every size. Caller structs and image
// planes live in exactly-sized heap buffers, so AddressSanitizer flags any read or write past
// what the caller handed in.
//
// Oracles: a failed call returns a negative status, sets a non-empty vas_last_error_message()
// and leaves its out-parameters untouched; a successful detect returns at most
// max_detections boxes inside the image with scores in [0, 1] and known class ids; a
// successful vas_preprocess had a valid spec and an output at least as large as it needs.
//
// The detector under test is the real yolov3-tiny from $VASDK_ASSETS (or the build's assets
// folder), created once at a 64x64 input so each inference is cheap.
#include <vasdk/vasdk.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
  int32_t i32() { return static_cast<int32_t>(u16() | (static_cast<uint32_t>(u16()) << 16)); }
  int16_t i16() { return static_cast<int16_t>(u16()); }
  // Any bit pattern: NaN, infinities, subnormals and negative zero included.
  float f32() {
    const uint32_t bits = static_cast<uint32_t>(i32());
    float f;
    std::memcpy(&f, &bits, sizeof(f));
    return f;
  }
  // A NUL-terminated string of up to max_len bytes taken from the input.
  std::string str(size_t max_len) {
    const size_t n = std::min<size_t>(u8() % (max_len + 1), size_ - std::min(pos_, size_));
    std::string s(reinterpret_cast<const char*>(data_ + std::min(pos_, size_)), n);
    pos_ += n;
    return s.substr(0, s.find('\0'));
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

std::string g_model;
std::string g_video;
vas_detector_t* g_detector = nullptr;
constexpr int kMaxDetections = 50;

// struct_size values that matter: 0, one short, exact, longer (a newer caller), or raw.
uint32_t pick_struct_size(Bytes& in, size_t exact) {
  switch (in.u8() % 6) {
    case 0:
      return 0;
    case 1:
      return static_cast<uint32_t>(exact - 1);
    case 2:
      return static_cast<uint32_t>(exact + 8);
    case 3:
      return in.u16() % 128;
    default:
      return static_cast<uint32_t>(exact);
  }
}

// Copies the first min(struct_size, sizeof(T)) bytes of v into an exactly-sized heap buffer.
// A struct_size beyond sizeof(T) gets a buffer of that size: a newer caller's bigger struct.
template <typename T>
std::vector<uint8_t> caller_struct(const T& v) {
  const size_t n = std::max<size_t>(sizeof(uint32_t), std::min<size_t>(v.struct_size, 256));
  std::vector<uint8_t> buf(n, 0xAB);
  std::memcpy(buf.data(), &v, std::min(n, sizeof(T)));
  return buf;
}

void expect_failure_reported(vas_status_t st) {
  if (st >= 0) std::abort();
  const char* msg = vas_last_error_message();
  if (msg == nullptr || msg[0] == '\0') std::abort();
  if (vas_status_str(st) == nullptr) std::abort();
}

// Options assembled from known keys with bounded values, so that a real model gets created
// (unbounded thread counts and input sizes are the parser's business, fuzzed separately).
std::string bounded_options(Bytes& in) {
  std::string j = "{\"threads\": 1";
  const uint8_t bits = in.u8();
  if (bits & 1) j += ", \"input_width\": " + std::to_string(32 * (in.u8() % 4));
  if (bits & 2) j += ", \"input_height\": " + std::to_string(32 * (in.u8() % 4));
  if (bits & 4) j += ", \"score_threshold\": " + std::to_string((in.u8() % 130) / 100.0 - 0.1);
  if (bits & 8) j += ", \"nms_iou\": " + std::to_string((in.u8() % 130) / 100.0 - 0.1);
  if (bits & 16) j += ", \"max_detections\": " + std::to_string(in.u8() % 4);
  if (bits & 32) j += ", \"classes\": [\"person\", \"" + in.str(8) + "\"]";
  if (bits & 64) j += ", \"optimization\": \"" + in.str(10) + "\"";
  if (bits & 128) j += ", \"backend\": \"" + in.str(6) + "\"";
  return j + "}";
}

void fuzz_create(Bytes& in) {
  vas_detector_config_t cfg;
  vas_detector_config_init(&cfg);
  cfg.struct_size = pick_struct_size(in, sizeof(cfg));
  const uint8_t which = in.u8();
  std::string path, options;
  switch (which % 4) {
    case 0:
      cfg.model_path = nullptr;
      break;
    case 1:
      path = "/nonexistent/" + in.str(40);
      cfg.model_path = path.c_str();
      break;
    case 2:
      path = g_model;  // real model, bounded options: a real session may be created
      cfg.model_path = path.c_str();
      break;
    default:
      cfg.model_path = "";
  }
  if (which % 4 == 2) {
    options = bounded_options(in);
  } else {
    options = in.str(200);  // arbitrary text through options_json: parsed before the model
  }
  cfg.options_json = (which & 4) ? nullptr : options.c_str();
  std::vector<uint8_t> buf = caller_struct(cfg);
  auto* const sentinel = reinterpret_cast<vas_detector_t*>(uintptr_t{0x5e17});
  vas_detector_t* det = sentinel;
  const vas_status_t st =
      vas_detector_create(reinterpret_cast<const vas_detector_config_t*>(buf.data()), &det);
  if (st != VAS_OK) {
    expect_failure_reported(st);
    if (det != sentinel) std::abort();
    return;
  }
  if (det == nullptr || det == sentinel) std::abort();
  vas_detector_destroy(det);
}

int rows_of(int32_t f, int plane, int height) {
  return plane == 0 || f == VAS_PIXEL_FORMAT_GRAY8 ? height : height / 2;
}

int row_bytes(int32_t f, int plane, int width) {
  if (plane > 0) return f == VAS_PIXEL_FORMAT_I420 ? width / 2 : width;
  return (f == VAS_PIXEL_FORMAT_BGR24 || f == VAS_PIXEL_FORMAT_RGB24) ? width * 3 : width;
}

// A caller's image from fuzz bytes: mostly plausible formats, sizes and strides, sometimes raw
// values, short strides or NULL planes. Planes live in exactly-sized heap buffers in
// `planes`. Returns false for an image promising more memory than the caller has.
bool fuzz_image(Bytes& in, vas_image_t* out, std::vector<std::vector<uint8_t>>* planes) {
  vas_image_t img;
  vas_image_init(&img);
  img.struct_size = pick_struct_size(in, sizeof(img));
  const uint8_t fmt = in.u8();
  img.format = fmt < 224 ? 1 + fmt % 6 : in.i32();
  const uint8_t shape = in.u8();
  img.width = shape < 224 ? 1 + in.u8() % 128 : in.i32() % 100000;
  img.height = shape < 224 ? 1 + in.u8() % 128 : in.i32() % 100000;
  planes->assign(3, {});
  for (int p = 0; p < 3; ++p) {
    const uint8_t mode = in.u8();
    const int row = img.width > 0 ? row_bytes(img.format, p, img.width) : 1;
    int32_t stride = row + mode % 8;
    if (mode >= 224) stride = row - 1 - mode % 4;
    if (mode == 255) stride = in.i32();
    img.strides[p] = stride;
    if (mode == 254) continue;  // NULL plane
    const int rows = img.height > 0 ? rows_of(img.format, p, img.height) : 1;
    const size_t bytes = static_cast<size_t>(std::max(stride, 1)) * std::max(rows, 1);
    if (bytes > (size_t{8} << 20)) return false;
    (*planes)[p].resize(bytes);
    const uint8_t seed = in.u8();
    for (size_t i = 0; i < bytes; ++i) (*planes)[p][i] = static_cast<uint8_t>(seed + i * 7);
    img.planes[p] = (*planes)[p].data();
  }
  *out = img;
  return true;
}

void fuzz_detect(Bytes& in) {
  vas_image_t img;
  std::vector<std::vector<uint8_t>> planes;
  if (!fuzz_image(in, &img, &planes)) return;
  std::vector<uint8_t> buf = caller_struct(img);
  const vas_detection_t* sentinel_items = reinterpret_cast<const vas_detection_t*>(uintptr_t{8});
  const vas_detection_t* items = sentinel_items;
  size_t count = 12345;
  const vas_status_t st = vas_detector_detect(
      g_detector, reinterpret_cast<const vas_image_t*>(buf.data()), &items, &count);
  if (st != VAS_OK) {
    expect_failure_reported(st);
    if (items != sentinel_items || count != 12345) std::abort();
    return;
  }
  if (count > kMaxDetections || (count > 0 && items == nullptr)) std::abort();
  for (size_t i = 0; i < count; ++i) {
    const vas_detection_t& d = items[i];
    if (!(d.x1 >= 0 && d.x1 <= d.x2 && d.x2 <= img.width)) std::abort();
    if (!(d.y1 >= 0 && d.y1 <= d.y2 && d.y2 <= img.height)) std::abort();
    if (!(d.score >= 0 && d.score <= 1)) std::abort();
    const char* name = nullptr;
    if (vas_detector_get_class_name(g_detector, d.class_id, &name) != VAS_OK || !name) std::abort();
  }
}

void fuzz_queries(Bytes& in) {
  const int32_t class_id = in.i32();
  const char* name = reinterpret_cast<const char*>(uintptr_t{16});
  const vas_status_t st = vas_detector_get_class_name(g_detector, class_id, &name);
  if (st != VAS_OK) {
    expect_failure_reported(st);
    if (name != reinterpret_cast<const char*>(uintptr_t{16})) std::abort();
  }
  // An info struct of any size: the library must write only its first struct_size bytes.
  const size_t n = std::max<size_t>(sizeof(uint32_t), in.u8() % 64);
  std::vector<uint8_t> info(n, 0xCD);
  const uint32_t struct_size = static_cast<uint32_t>(in.u8() & 1 ? n : in.u8() % (n + 1));
  std::memcpy(info.data(), &struct_size, sizeof(struct_size));
  const vas_status_t is =
      vas_detector_get_info(g_detector, reinterpret_cast<vas_detector_info_t*>(info.data()));
  if (is != VAS_OK) expect_failure_reported(is);
  if (vas_detector_get_info(nullptr, nullptr) == VAS_OK) std::abort();
}

void fuzz_reader(Bytes& in) {
  vas_video_reader_config_t cfg;
  vas_video_reader_config_init(&cfg);
  cfg.struct_size = pick_struct_size(in, sizeof(cfg));
  const uint8_t which = in.u8();
  // Local paths only: a fuzzed URL must never reach the network.
  std::string url = (which & 1) ? g_video : "/nonexistent/" + in.str(30);
  cfg.url = (which & 6) == 6 ? nullptr : url.c_str();
  cfg.output_format = (which & 8) ? in.i32() : 1 + in.u8() % 6;
  cfg.open_timeout_ms = (which & 16) ? in.i32() : 0;
  cfg.read_timeout_ms = (which & 32) ? in.i32() : 0;
  std::vector<uint8_t> buf = caller_struct(cfg);
  auto* const sentinel = reinterpret_cast<vas_video_reader_t*>(uintptr_t{0x5e17});
  vas_video_reader_t* reader = sentinel;
  const vas_status_t st = vas_video_reader_create(
      reinterpret_cast<const vas_video_reader_config_t*>(buf.data()), &reader);
  if (st != VAS_OK) {
    expect_failure_reported(st);
    if (reader != sentinel) std::abort();
    return;
  }
  vas_image_t frame;
  vas_image_init(&frame);
  frame.struct_size = pick_struct_size(in, sizeof(frame));
  std::vector<uint8_t> fbuf = caller_struct(frame);
  const vas_status_t rs =
      vas_video_reader_read(reader, reinterpret_cast<vas_image_t*>(fbuf.data()), nullptr);
  if (rs != VAS_OK && rs != VAS_END_OF_STREAM) expect_failure_reported(rs);
  vas_video_reader_destroy(reader);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  const char* env = std::getenv("VASDK_ASSETS");
  const std::string assets = env && *env ? env : VASDK_FUZZ_ASSETS_DIR;
  g_model = assets + "/yolov3-tiny.onnx";
  g_video = assets + "/vtest.avi";
  vas_detector_config_t cfg;
  vas_detector_config_init(&cfg);
  cfg.model_path = g_model.c_str();
  const std::string options = "{\"threads\": 1, \"input_width\": 64, \"input_height\": 64, " +
                              std::string("\"max_detections\": ") + std::to_string(kMaxDetections) +
                              "}";
  cfg.options_json = options.c_str();
  if (vas_detector_create(&cfg, &g_detector) != VAS_OK) {
    std::fprintf(stderr, "fuzz_capi: cannot create the detector from %s: %s\n", g_model.c_str(),
                 vas_last_error_message());
    std::exit(1);
  }
  vas_detector_destroy(nullptr);  // destroy accepts NULL
  vas_video_reader_destroy(nullptr);
  return 0;
}

// vas_preprocess with a caller spec of random field values (enums, sizes, normalisation,
// quantisation, ROI) over a fuzzed image, into an output of the size the API asks for, or
// of a fuzzed size. Oracles: failures are reported; success needs a valid size.
void fuzz_preprocess(Bytes& in) {
  static vas_preprocessor_t* pre = [] {
    vas_preprocessor_t* p = nullptr;
    vas_preprocessor_config_t cfg;
    vas_preprocessor_config_init(&cfg);
    cfg.threads = 2;
    if (vas_preprocessor_create(&cfg, &p) != VAS_OK) std::abort();
    return p;
  }();
  vas_image_t img;
  std::vector<std::vector<uint8_t>> planes;
  if (!fuzz_image(in, &img, &planes)) return;
  vas_preprocess_spec_t spec;
  vas_preprocess_spec_init(&spec);
  spec.struct_size = pick_struct_size(in, sizeof(spec));
  const uint8_t raw = in.u8();
  spec.width = raw & 1 ? in.i32() : 1 + in.u8() % 96;
  spec.height = raw & 2 ? in.i32() : 1 + in.u8() % 96;
  spec.resize_mode = raw & 4 ? in.i32() : in.u8() % 2;
  spec.interp = in.u8() % 4;
  spec.channels = in.u8() % 3;
  spec.layout = in.u8() % 3;
  spec.dtype = in.u8() % 6;
  if (raw & 8) {
    spec.scale = in.f32();
    spec.mean[in.u8() % 3] = in.f32();
    spec.std[in.u8() % 3] = in.f32();
    spec.quant_scale = in.f32();
  }
  spec.pad_value = raw & 16 ? in.i32() : in.u8();
  spec.zero_point = in.i16();
  if (raw & 32) {
    spec.roi_x = in.i16();
    spec.roi_y = in.i16();
    spec.roi_width = in.i16();
    spec.roi_height = in.i16();
  }
  std::vector<uint8_t> buf = caller_struct(spec);
  const auto* s = reinterpret_cast<const vas_preprocess_spec_t*>(buf.data());
  const size_t need = vas_preprocess_output_bytes(s);
  if (need == 0) expect_failure_reported(VAS_ERR_INVALID_ARGUMENT);
  size_t bytes = need;
  if (raw & 64 || need > (size_t{8} << 20)) bytes = in.u16();
  std::vector<float> out((bytes + 3) / 4);
  vas_box_transform_t tf;
  const vas_status_t st = vas_preprocess(pre, &img, s, out.data(), bytes, &tf);
  if (st != VAS_OK) {
    expect_failure_reported(st);
  } else if (need == 0 || bytes < need) {
    std::abort();  // success with an invalid spec or a short output
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  switch (in.u8() % 9) {
    case 0:
    case 1:
      fuzz_create(in);
      break;
    case 8:
      fuzz_preprocess(in);
      break;
    case 2:
      fuzz_queries(in);
      break;
    case 3:
      fuzz_reader(in);
      break;
    default:
      fuzz_detect(in);
  }
  return 0;
}
