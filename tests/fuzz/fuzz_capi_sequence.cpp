// Fuzzes sequences of C API calls, as a hostile integrator would make them. The input is read
// as a program in a small grammar:
//
//   program := op*
//   op      := pool_create(config) | pool_acquire(pool, size) | pool_destroy(pool)
//            | buffer_retain(ptr) | buffer_release(ptr)
//            | preprocess(image, size) | best_shot_update(image, tracks) | tracker_update(dets)
//            | create/destroy of a best-shot selector or a tracker
//   size    := small | boundary (2^k +- 1, INT32_MAX / 3 + 1, SIZE_MAX - k, ...) | raw
//   ptr     := a live buffer | a released one | inside a buffer | heap | after a PROT_NONE page
//   image   := format, width, height, strides, each from the size grammar
//
// Every operand can be a boundary value, so widths whose row bytes wrap int, pool sizes near
// SIZE_MAX and pointers the library never handed out come up within seconds.
//
// Oracles (independent of any limit the library documents, so they hold on old code too):
//  - a failed call returns a negative status with a non-empty message;
//  - an image whose row (computed in 64 bits) exceeds its stride, or whose size or stride is
//    not positive, is refused with VAS_ERR_INVALID_ARGUMENT; any other image is passed only
//    when its planes fit the caller's buffer, and then must not touch memory outside it;
//  - vas_pool_create returns within a second, and a pool it creates serves an acquire of
//    min_block bytes when min_block, alignment and capacity are modest;
//  - vas_buffer_retain of a pointer that is not a buffer still out is
//    VAS_ERR_INVALID_ARGUMENT, and vas_buffer_release of it changes nothing;
//  - stats stay consistent: in_use_buffers equals the references the program holds.
#include <sys/mman.h>
#include <unistd.h>
#include <vasdk/vasdk.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <vector>

namespace {

class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint64_t u64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(u8()) << (8 * i);
    return v;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// The size grammar: mostly small values, often a boundary, sometimes raw bits.
uint64_t size_value(Bytes& in, uint64_t small_max) {
  static const uint64_t kBoundaries[] = {0,
                                         1,
                                         2,
                                         3,
                                         7,
                                         8,
                                         63,
                                         64,
                                         65,
                                         4095,
                                         4096,
                                         4097,
                                         65535,
                                         65536,
                                         32767,
                                         32768,
                                         32769,
                                         (1ull << 31) / 3,
                                         (1ull << 31) / 3 + 1,
                                         (1ull << 31) / 4,
                                         (1ull << 31) / 4 + 1,
                                         (1ull << 31) / 2,
                                         (1ull << 31) / 2 + 1,
                                         (1ull << 31) - 1,
                                         1ull << 31,
                                         (1ull << 32) - 1,
                                         1ull << 32,
                                         1ull << 48,
                                         (1ull << 48) + 1,
                                         1ull << 62,
                                         1ull << 63,
                                         UINT64_MAX / 2 + 1,
                                         UINT64_MAX - 4095,
                                         UINT64_MAX - 1,
                                         UINT64_MAX};
  const uint8_t k = in.u8();
  if (k < 160) return 1 + in.u8() % small_max;
  if (k < 248) return kBoundaries[in.u8() % (sizeof(kBoundaries) / sizeof(kBoundaries[0]))];
  return in.u64();
}

int32_t int_value(Bytes& in, uint64_t small_max) {
  const uint64_t v = size_value(in, small_max);
  const int32_t i = static_cast<int32_t>(v);  // wraps the large ones, as a C caller's cast would
  // Negated in unsigned arithmetic, so INT32_MIN stays itself instead of overflowing.
  return (in.u8() & 15) == 0 ? static_cast<int32_t>(0u - static_cast<uint32_t>(i)) : i;
}

void expect_failure_reported(vas_status_t st) {
  if (st >= 0) std::abort();
  const char* msg = vas_last_error_message();
  if (msg == nullptr || msg[0] == '\0') std::abort();
}

// A page that cannot be read, followed by a readable one: the foreign pointer is the start of
// the second, so any read in front of it faults.
unsigned char* g_after_guard = nullptr;
std::vector<uint8_t> g_pixels;  // the caller's image memory (planes point into it)
constexpr size_t kPixelBytes = size_t{1} << 20;

vas_preprocessor_t* g_pre = nullptr;  // stateless between calls, so shared by all inputs

struct Held {
  vas_pool_t* pool = nullptr;  // nullptr once that pool was destroyed
  int refs = 0;
};

struct State {
  std::vector<vas_pool_t*> pools;
  std::map<void*, Held> held;   // buffers out -> their pool and the references the program holds
  std::vector<void*> released;  // buffers whose every reference was dropped
  vas_best_shot_selector_t* shots = nullptr;
  vas_tracker_t* tracker = nullptr;
  int64_t ts = 0;

  ~State() {
    for (auto& [p, h] : held) {
      for (int i = 0; i < h.refs; ++i) vas_buffer_release(p);
    }
    for (vas_pool_t* p : pools) vas_pool_destroy(p);
    vas_best_shot_selector_destroy(shots);
    vas_tracker_destroy(tracker);
  }
};

void op_pool_create(Bytes& in, State* s) {
  vas_pool_config_t cfg;
  vas_pool_config_init(&cfg);
  cfg.min_block = size_value(in, 1 << 16);
  cfg.max_block = in.u8() & 1 ? cfg.min_block : size_value(in, 1 << 18);
  cfg.capacity_bytes = size_value(in, 1 << 20);
  cfg.alignment = in.u8() & 1 ? 64 : size_value(in, 4096);
  cfg.thread_safe = in.u8() & 1;
  vas_pool_t* pool = nullptr;
  const auto t0 = std::chrono::steady_clock::now();
  const vas_status_t st = vas_pool_create(&cfg, &pool);
  if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(1)) std::abort();
  if (st != VAS_OK) {
    expect_failure_reported(st);
    return;
  }
  // A pool that cannot serve a modest smallest block although nothing is out (every acquire
  // would fail, e.g. for an alignment no allocator can meet) should have been refused.
  const bool modest = cfg.min_block <= (1u << 20);
  void* data = nullptr;
  // Larger blocks are real allocations the caller asked for; the harness does not make them.
  const vas_status_t a = modest ? vas_pool_acquire(pool, cfg.min_block, &data) : VAS_OK;
  if (modest && a != VAS_OK) std::abort();
  if (modest) {
    if (cfg.alignment != 0 && (reinterpret_cast<uintptr_t>(data) & (cfg.alignment - 1)) != 0) {
      std::abort();
    }
    std::memset(data, 0x5a, cfg.min_block);  // the block really holds min_block bytes
    vas_buffer_release(data);
  }
  // Pools whose blocks are real, large allocations are checked above but not used further.
  if (s->pools.size() < 4 && cfg.max_block <= (uint64_t{64} << 20)) {
    s->pools.push_back(pool);
  } else {
    vas_pool_destroy(pool);
  }
}

void op_pool_acquire(Bytes& in, State* s) {
  if (s->pools.empty()) return;
  vas_pool_t* pool = s->pools[in.u8() % s->pools.size()];
  const uint64_t size = size_value(in, 1 << 16);
  if (size > (uint64_t{64} << 20)) return;  // a real request for that much memory
  void* data = reinterpret_cast<void*>(uintptr_t{0x5e17});
  const vas_status_t st = vas_pool_acquire(pool, size, &data);
  if (st != VAS_OK) {
    expect_failure_reported(st);
    if (data != reinterpret_cast<void*>(uintptr_t{0x5e17})) std::abort();
    return;
  }
  std::memset(data, 0xa5, std::min<uint64_t>(size, 1 << 16));
  Held& h = s->held[data];
  h.pool = pool;
  ++h.refs;
}

// A pointer from the ptr grammar; *is_out tells whether the program holds a reference to it.
void* pick_pointer(Bytes& in, State* s, bool* is_out) {
  *is_out = false;
  switch (in.u8() % 6) {
    case 0:
    case 1:
      if (!s->held.empty()) {
        auto it = s->held.begin();
        std::advance(it, in.u8() % s->held.size());
        *is_out = true;
        return it->first;
      }
      return g_after_guard;
    case 2:
      if (!s->released.empty()) {
        void* p = s->released[in.u8() % s->released.size()];
        *is_out = s->held.count(p) > 0;  // the block may have been handed out again
        return p;
      }
      return g_after_guard;
    case 3:
      if (!s->held.empty()) return static_cast<unsigned char*>(s->held.begin()->first) + 8;
      return g_after_guard + 8;
    case 4:
      return g_pixels.data() + 64;
    default:
      return g_after_guard;
  }
}

void op_retain_release(Bytes& in, State* s) {
  bool is_out = false;
  void* p = pick_pointer(in, s, &is_out);
  const bool retain = in.u8() & 1;
  if (retain) {
    const vas_status_t st = vas_buffer_retain(p);
    if (is_out) {
      if (st != VAS_OK) std::abort();
      ++s->held[p].refs;
    } else {
      if (st != VAS_ERR_INVALID_ARGUMENT) std::abort();
      expect_failure_reported(st);
    }
    return;
  }
  vas_buffer_release(p);  // of a foreign pointer: must be a harmless no-op
  if (is_out && --s->held[p].refs == 0) {
    s->held.erase(p);
    s->released.push_back(p);
  }
}

void op_pool_destroy(Bytes& in, State* s) {
  if (s->pools.empty()) return;
  const size_t i = in.u8() % s->pools.size();
  vas_pool_t* gone = s->pools[i];
  vas_pool_destroy(gone);  // buffers still out stay valid until released
  s->pools.erase(s->pools.begin() + static_cast<std::ptrdiff_t>(i));
  for (auto& [p, h] : s->held) {
    if (h.pool == gone) h.pool = nullptr;
  }
}

// Each pool's count of buffers out equals the buffers the program holds from it.
void check_stats(State* s) {
  for (vas_pool_t* pool : s->pools) {
    vas_pool_stats_t st;
    vas_pool_stats_init(&st);
    if (vas_pool_get_stats(pool, &st) != VAS_OK) std::abort();
    uint64_t out = 0;
    for (const auto& [p, h] : s->held) out += h.pool == pool ? 1 : 0;
    if (st.in_use_buffers != out) std::abort();
  }
}

// An image from the grammar, and whether the oracle needs it refused. Returns false when the
// image is valid but promises more memory than the caller has (then it is not passed on).
bool make_image(Bytes& in, vas_image_t* img, bool* must_fail) {
  vas_image_init(img);
  img->format = 1 + in.u8() % 6;
  img->width = int_value(in, 64);
  img->height = int_value(in, 64);
  const int planes = img->format >= 4 ? (img->format == 6 ? 3 : 2) : 1;
  const int64_t w = img->width, h = img->height;
  *must_fail = w <= 0 || h <= 0 || (planes > 1 && (w % 2 != 0 || h % 2 != 0));
  bool fits = true;
  for (int p = 0; p < 3; ++p) {
    const int64_t bpp = (p == 0 && img->format <= 2) ? 3 : 1;
    const int64_t row = p == 0 ? w * bpp : (img->format == 6 ? w / 2 : w);
    const int64_t rows = p == 0 ? h : h / 2;
    img->strides[p] = in.u8() & 1 ? static_cast<int32_t>(std::clamp<int64_t>(row, 0, INT32_MAX))
                                  : int_value(in, 256);
    img->planes[p] = g_pixels.data();
    if (p >= planes || *must_fail) continue;
    const int64_t stride = img->strides[p];
    if (stride <= 0 || row > stride) {
      *must_fail = true;
      continue;
    }
    const int64_t span = stride * (rows - 1) + row;  // no overflow: both factors < 2^31
    if (span > static_cast<int64_t>(kPixelBytes)) fits = false;
  }
  return *must_fail || fits;
}

void op_image(Bytes& in, State* s) {
  vas_image_t img;
  bool must_fail = false;
  if (!make_image(in, &img, &must_fail)) return;
  vas_status_t st;
  if (in.u8() & 1) {
    vas_preprocess_spec_t spec;
    vas_preprocess_spec_init(&spec);
    spec.width = 1 + in.u8() % 32;
    spec.height = 1 + in.u8() % 32;
    static std::vector<float> out(3 * 32 * 32);
    st = vas_preprocess(g_pre, &img, &spec, out.data(), out.size() * sizeof(float), nullptr);
  } else {
    if (s->shots == nullptr) {
      vas_best_shot_config_t cfg;
      vas_best_shot_config_init(&cfg);
      if (vas_best_shot_selector_create(&cfg, &s->shots) != VAS_OK) std::abort();
    }
    vas_track_t t;
    std::memset(&t, 0, sizeof(t));
    t.track_id = 1 + in.u8() % 4;
    t.parent_track_id = -1;
    t.x1 = static_cast<float>(int_value(in, 64));
    t.y1 = static_cast<float>(int_value(in, 64));
    t.x2 = t.x1 + static_cast<float>(1 + in.u8() % 64);
    t.y2 = t.y1 + static_cast<float>(1 + in.u8() % 64);
    t.score = 0.9f;
    t.state = VAS_TRACK_CONFIRMED;
    t.hits = t.age = 5;
    const vas_best_shot_t* shots = nullptr;
    size_t n = 0;
    st = vas_best_shot_selector_update(s->shots, &img, &t, 1, s->ts++, &shots, &n);
  }
  if (must_fail && st != VAS_ERR_INVALID_ARGUMENT) std::abort();
  if (st != VAS_OK) expect_failure_reported(st);
}

void op_tracker(Bytes& in, State* s) {
  if (s->tracker == nullptr) {
    vas_tracker_config_t cfg;
    vas_tracker_config_init(&cfg);
    if (vas_tracker_create(&cfg, &s->tracker) != VAS_OK) std::abort();
  }
  vas_detection_t dets[8];
  const size_t n = in.u8() % 9;
  for (size_t i = 0; i < n; ++i) {
    std::memset(&dets[i], 0, sizeof(dets[i]));
    dets[i].x1 = static_cast<float>(int_value(in, 512));
    dets[i].y1 = static_cast<float>(int_value(in, 512));
    dets[i].x2 = dets[i].x1 + static_cast<float>(int_value(in, 128));
    dets[i].y2 = dets[i].y1 + static_cast<float>(int_value(in, 128));
    dets[i].score = static_cast<float>(in.u8()) / 200.0f;
    dets[i].num_landmarks = in.u8() % 8 == 0 ? 5 : 0;
  }
  const vas_track_t* tracks = nullptr;
  size_t count = 0;
  const vas_status_t st =
      vas_tracker_update(s->tracker, n ? dets : nullptr, n, s->ts++, &tracks, &count);
  if (st != VAS_OK) expect_failure_reported(st);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  const long page = sysconf(_SC_PAGESIZE);
  auto* map =
      static_cast<unsigned char*>(mmap(nullptr, static_cast<size_t>(page) * 2,
                                       PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (map == MAP_FAILED || mprotect(map, static_cast<size_t>(page), PROT_NONE) != 0) std::abort();
  g_after_guard = map + page;
  if (vas_preprocessor_create(nullptr, &g_pre) != VAS_OK) std::abort();
  g_pixels.assign(kPixelBytes, 0);
  for (size_t i = 0; i < kPixelBytes; ++i) g_pixels[i] = static_cast<uint8_t>(i * 7919 >> 5);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  State s;
  for (int steps = 0; steps < 64 && !in.done(); ++steps) {
    switch (in.u8() % 8) {
      case 0:
        op_pool_create(in, &s);
        break;
      case 1:
        op_pool_acquire(in, &s);
        break;
      case 2:
        op_retain_release(in, &s);
        break;
      case 3:
        op_pool_destroy(in, &s);
        break;
      case 4:
      case 5:
        op_image(in, &s);
        break;
      case 6:
        op_tracker(in, &s);
        break;
      default:
        check_stats(&s);
    }
  }
  return 0;
}
