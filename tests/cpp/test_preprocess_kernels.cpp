// Every fast kernel against the scalar reference, on random images of odd sizes and strides,
// for every format, interpolation, output type and layout; bad input; zero allocations.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "core/pool.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "preprocess/kernels.h"
#include "preprocess/preprocess.h"

// The replacement operator new/delete below pair malloc with free; GCC cannot see that they
// replace each other and warns at inlined call sites.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

// Counts every global operator new in this binary, to prove steady-state calls allocate nothing.
static std::atomic<long> g_news{0};
void* operator new(size_t n) {
  ++g_news;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  ++g_news;
  return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace vas {
namespace {

// A random image with padded strides; owns its bytes.
struct TestImage {
  std::vector<uint8_t> bytes[3];
  ImageView view;
};

TestImage random_image(PixelFormat f, int w, int h, unsigned seed) {
  std::mt19937 rng(seed);
  TestImage t;
  t.view.format = f;
  t.view.width = w;
  t.view.height = h;
  for (int p = 0; p < plane_count(f); ++p) {
    const int row = plane_row_bytes(f, p, w);
    const int stride = row + 1 + static_cast<int>(rng() % 13);  // odd padding
    t.bytes[p].resize(static_cast<size_t>(stride) * plane_rows(f, p, h));
    for (auto& b : t.bytes[p]) b = static_cast<uint8_t>(rng());
    t.view.planes[p] = t.bytes[p].data();
    t.view.strides[p] = stride;
  }
  return t;
}

float element(const std::vector<uint8_t>& buf, DataType dt, size_t i) {
  switch (dt) {
    case DataType::kFloat16: {
      uint16_t h;
      std::memcpy(&h, buf.data() + 2 * i, 2);
      return detail::half_to_float(h);
    }
    case DataType::kUInt8:
      return buf[i];
    case DataType::kInt8:
      return static_cast<int8_t>(buf[i]);
    default: {
      float f;
      std::memcpy(&f, buf.data() + 4 * i, 4);
      return f;
    }
  }
}

float tolerance(DataType dt) {
  switch (dt) {
    case DataType::kFloat16:
      return 4e-3f;  // one half-precision ulp near 2 plus the float tolerance
    case DataType::kUInt8:
    case DataType::kInt8:
      return 1.0f;  // 1 LSB
    default:
      return 1e-3f;
  }
}

std::vector<uint8_t> run_impl(Preprocessor::Impl impl, const ImageView& img,
                              const PreprocessSpec& spec, int threads = 1,
                              BoxTransform* tf = nullptr) {
  Preprocessor pre(threads);
  EXPECT_TRUE(pre.set_impl(impl).is_ok());
  std::vector<uint8_t> out(preprocess_output_bytes(spec) + 64);
  // Offset to a 64-byte boundary inside the vector is not needed; element alignment is.
  Status st = pre.run(img, spec, out.data(), out.size(), tf);
  EXPECT_TRUE(st.is_ok()) << st.message();
  out.resize(preprocess_output_bytes(spec));
  return out;
}

void expect_close(const std::vector<uint8_t>& got, const std::vector<uint8_t>& want, DataType dt,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  const size_t n = got.size() / data_type_size(dt);
  const float tol = tolerance(dt);
  size_t bad = 0;
  float worst = 0;
  for (size_t i = 0; i < n; ++i) {
    const float d = std::fabs(element(got, dt, i) - element(want, dt, i));
    if (!(d <= tol)) ++bad;
    worst = std::max(worst, d);
  }
  EXPECT_EQ(bad, 0u) << what << ": worst difference " << worst;
}

std::vector<Preprocessor::Impl> fast_impls() {
  std::vector<Preprocessor::Impl> v{Preprocessor::Impl::kPortable};
  if (Preprocessor::avx2_available()) v.push_back(Preprocessor::Impl::kAvx2);
  if (Preprocessor::avx512_available()) v.push_back(Preprocessor::Impl::kAvx512);
  if (Preprocessor::neon_available()) v.push_back(Preprocessor::Impl::kNeon);
  return v;
}

const char* impl_name(Preprocessor::Impl i) {
  switch (i) {
    case Preprocessor::Impl::kAvx2:
      return "avx2";
    case Preprocessor::Impl::kAvx512:
      return "avx512";
    case Preprocessor::Impl::kNeon:
      return "neon";
    default:
      return "portable";
  }
}

TEST(PreprocessKernels, FastPathsMatchReferenceForEveryFormatAndInterp) {
  const PixelFormat formats[] = {PixelFormat::kBGR24, PixelFormat::kRGB24, PixelFormat::kGRAY8,
                                 PixelFormat::kNV12,  PixelFormat::kNV21,  PixelFormat::kI420};
  const Interp interps[] = {Interp::kBilinear, Interp::kNearest, Interp::kArea};
  // (source w, h) -> (network w, h): down, up, mixed, letterboxed, wide gathers (beyond the
  // AVX-512 permute window), and exact odd ratios, where every tap is single and rows go
  // straight from the horizontal pass to the output.
  struct Case {
    int sw, sh, dw, dh;
    ResizeMode mode;
  };
  const Case cases[] = {
      {97, 61, 40, 32, ResizeMode::kLetterbox},  {37, 23, 53, 41, ResizeMode::kStretch},
      {130, 18, 33, 29, ResizeMode::kLetterbox}, {64, 48, 64, 48, ResizeMode::kStretch},
      {301, 203, 48, 48, ResizeMode::kStretch},  {99, 63, 33, 21, ResizeMode::kStretch},
      {150, 90, 50, 50, ResizeMode::kLetterbox}, {245, 40, 49, 29, ResizeMode::kStretch}};
  unsigned seed = 1;
  for (PixelFormat f : formats) {
    for (const Case& c : cases) {
      const bool yuv = plane_count(f) > 1;
      const int sw = yuv ? c.sw & ~1 : c.sw, sh = yuv ? c.sh & ~1 : c.sh;
      TestImage img = random_image(f, sw, sh, seed++);
      for (Interp interp : interps) {
        PreprocessSpec spec;
        spec.width = c.dw;
        spec.height = c.dh;
        spec.mode = c.mode;
        spec.interp = interp;
        spec.color = seed % 2 ? ColorOrder::kRGB : ColorOrder::kBGR;
        spec.mean[0] = 0.485f;
        spec.std[2] = 0.225f;
        spec.pad_value = 7;
        const auto ref = run_impl(Preprocessor::Impl::kReference, img.view, spec);
        for (auto impl : fast_impls()) {
          const std::string what = std::string(pixel_format_name(f)) + " " + std::to_string(sw) +
                                   "x" + std::to_string(sh) + "->" + std::to_string(c.dw) + "x" +
                                   std::to_string(c.dh) + " interp " +
                                   std::to_string(static_cast<int>(interp)) + " " + impl_name(impl);
          expect_close(run_impl(impl, img.view, spec), ref, DataType::kFloat32, what);
        }
      }
    }
  }
}

// Every plane ends flush against an inaccessible page, with stride == row bytes, so any read
// past the last row's end (a gather, or a permute window) faults instead of passing silently.
class GuardedImage {
 public:
  GuardedImage(PixelFormat f, int w, int h, unsigned seed) {
    std::mt19937 rng(seed);
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    view.format = f;
    view.width = w;
    view.height = h;
    for (int p = 0; p < plane_count(f); ++p) {
      const size_t row = plane_row_bytes(f, p, w), bytes = row * plane_rows(f, p, h);
      size_[p] = (bytes + page_ - 1) / page_ * page_ + page_;
      void* m = mmap(nullptr, size_[p], PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      EXPECT_NE(m, MAP_FAILED);
      base_[p] = static_cast<uint8_t*>(m);
      EXPECT_EQ(mprotect(base_[p] + size_[p] - page_, page_, PROT_NONE), 0);
      uint8_t* start = base_[p] + size_[p] - page_ - bytes;
      for (size_t i = 0; i < bytes; ++i) start[i] = static_cast<uint8_t>(rng());
      view.planes[p] = start;
      view.strides[p] = static_cast<int>(row);
    }
  }
  ~GuardedImage() {
    for (int p = 0; p < 3; ++p) {
      if (base_[p] != nullptr) munmap(base_[p], size_[p]);
    }
  }
  GuardedImage(const GuardedImage&) = delete;
  GuardedImage& operator=(const GuardedImage&) = delete;

  ImageView view;

 private:
  size_t page_ = 0;
  uint8_t* base_[3] = {nullptr, nullptr, nullptr};
  size_t size_[3] = {0, 0, 0};
};

TEST(PreprocessKernels, FastPathsNeverReadPastTheImage) {
  const PixelFormat formats[] = {PixelFormat::kBGR24, PixelFormat::kRGB24, PixelFormat::kGRAY8,
                                 PixelFormat::kNV12,  PixelFormat::kNV21,  PixelFormat::kI420};
  // Sizes whose last columns sit at the very end of a row; up-scaling reads the last pixel
  // for many columns.
  const int sizes[][4] = {{150, 90, 50, 50}, {66, 34, 96, 80}, {1920, 1080, 640, 640}};
  for (PixelFormat f : formats) {
    for (const auto& sz : sizes) {
      GuardedImage img(f, sz[0], sz[1], 7);
      PreprocessSpec spec;
      spec.width = sz[2];
      spec.height = sz[3];
      spec.mode = ResizeMode::kStretch;
      const auto ref = run_impl(Preprocessor::Impl::kReference, img.view, spec);
      for (auto impl : fast_impls()) {
        expect_close(run_impl(impl, img.view, spec), ref, DataType::kFloat32,
                     std::string(pixel_format_name(f)) + " guarded " + impl_name(impl));
      }
    }
  }
}

TEST(PreprocessKernels, PermuteTablesCoverUsualScalesAndStepAsideForExtremeOnes) {
  detail::Plan p;
  PreprocessSpec spec;
  spec.width = spec.height = 640;
  spec.mode = ResizeMode::kLetterbox;
  for (PixelFormat f : {PixelFormat::kBGR24, PixelFormat::kNV12, PixelFormat::kI420}) {
    detail::build_plan(1920, 1080, f, spec, &p);
    EXPECT_EQ(p.perm_groups, 80) << pixel_format_name(f);
    detail::build_plan(1280, 720, f, spec, &p);
    EXPECT_EQ(p.perm_groups, 80) << pixel_format_name(f);
  }
  // 8 columns of a 7.5:1 BGR down-scale span more than the 128-byte window: gathers instead.
  spec.width = spec.height = 256;
  detail::build_plan(1920, 1080, PixelFormat::kBGR24, spec, &p);
  EXPECT_EQ(p.perm_groups, 0);
}

TEST(PreprocessKernels, OutputTypesAndLayoutsMatchReference) {
  TestImage img = random_image(PixelFormat::kNV12, 150, 86, 42);
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kUInt8, DataType::kInt8}) {
    for (Layout layout : {Layout::kNCHW, Layout::kNHWC}) {
      PreprocessSpec spec;
      spec.width = 61;
      spec.height = 47;
      spec.mode = ResizeMode::kLetterbox;
      spec.dtype = dt;
      spec.layout = layout;
      if (dt == DataType::kUInt8) {
        spec.scale = 1.0f;  // raw pixels for a uint8 model
      } else if (dt == DataType::kInt8) {
        spec.scale = 1.0f;
        spec.mean[0] = spec.mean[1] = spec.mean[2] = 128.0f;
      }
      const auto ref = run_impl(Preprocessor::Impl::kReference, img.view, spec);
      for (auto impl : fast_impls()) {
        expect_close(run_impl(impl, img.view, spec), ref, dt,
                     std::string(data_type_name(dt)) +
                         (layout == Layout::kNHWC ? " NHWC " : " NCHW ") + impl_name(impl));
      }
    }
  }
}

TEST(PreprocessKernels, ThreadedBandsEqualOneThreadExactly) {
  // 641x359 letterboxed: two taps everywhere. 320x100 stretched to 320x300: single x taps
  // (rows that go straight to the output) next to rows blended from the row cache.
  const int cases[][5] = {{641, 359, 320, 320, 1}, {320, 100, 320, 300, 0}};
  for (const auto& c : cases) {
    TestImage img = random_image(PixelFormat::kBGR24, c[0], c[1], 7);
    PreprocessSpec spec;
    spec.width = c[2];
    spec.height = c[3];
    spec.mode = c[4] ? ResizeMode::kLetterbox : ResizeMode::kStretch;
    spec.mean[0] = 0.485f;  // a non-zero offset, so that rounding order shows
    spec.mean[1] = 0.456f;
    spec.std[2] = 0.225f;
    for (auto impl : fast_impls()) {
      const auto one = run_impl(impl, img.view, spec, 1);
      const auto two = run_impl(impl, img.view, spec, 2);
      const auto three = run_impl(impl, img.view, spec, 3);
      EXPECT_EQ(one, two) << impl_name(impl) << " " << c[0];
      EXPECT_EQ(one, three) << impl_name(impl) << " " << c[0];
    }
  }
}

TEST(PreprocessKernels, RoiEqualsPreprocessingACroppedCopy) {
  TestImage img = random_image(PixelFormat::kI420, 120, 90, 3);
  PreprocessSpec spec;
  spec.width = 32;
  spec.height = 32;
  spec.mode = ResizeMode::kLetterbox;
  spec.roi = {20, 10, 60, 40};
  BoxTransform tf;
  const auto got = run_impl(Preprocessor::Impl::kAuto, img.view, spec, 1, &tf);
  // The same pixels through a view that starts at the ROI.
  ImageView sub = img.view;
  sub.width = 60;
  sub.height = 40;
  sub.planes[0] += 10 * sub.strides[0] + 20;
  sub.planes[1] += 5 * sub.strides[1] + 10;
  sub.planes[2] += 5 * sub.strides[2] + 10;
  PreprocessSpec whole = spec;
  whole.roi = {};
  BoxTransform tf_sub;
  EXPECT_EQ(got, run_impl(Preprocessor::Impl::kAuto, sub, whole, 1, &tf_sub));
  // Boxes map into the full image: the content's corners are the ROI's corners.
  EXPECT_FLOAT_EQ(tf.to_src_x(static_cast<float>(tf_sub.offset_x)), 20.0f);
  EXPECT_FLOAT_EQ(tf.to_src_x(tf_sub.offset_x + 32.0f), 80.0f);
  EXPECT_FLOAT_EQ(tf.to_src_y(tf_sub.offset_y), 10.0f);
  EXPECT_FLOAT_EQ(tf.to_src_y(tf_sub.offset_y + 40.0f * tf.scale_y), 50.0f);
}

TEST(PreprocessKernels, LetterboxBoxMappingIsExact) {
  struct Case {
    int sw, sh, dw, dh;
  };
  for (const Case& c : {Case{1920, 1080, 640, 640}, Case{1280, 720, 416, 416},
                        Case{768, 576, 640, 640}, Case{333, 777, 320, 256}}) {
    std::vector<uint8_t> buf(static_cast<size_t>(c.sw) * c.sh * 3, 9);
    ImageView img = ImageView::packed(PixelFormat::kBGR24, c.sw, c.sh, buf.data(), c.sw * 3);
    PreprocessSpec spec;
    spec.width = c.dw;
    spec.height = c.dh;
    spec.mode = ResizeMode::kLetterbox;
    BoxTransform tf;
    run_impl(Preprocessor::Impl::kAuto, img, spec, 1, &tf);
    const float s = std::min(static_cast<float>(c.dw) / c.sw, static_cast<float>(c.dh) / c.sh);
    const int cw = static_cast<int>(std::lround(c.sw * s)),
              ch = static_cast<int>(std::lround(c.sh * s));
    const int x0 = (c.dw - cw) / 2, y0 = (c.dh - ch) / 2;
    EXPECT_EQ(tf.offset_x, static_cast<float>(x0));
    EXPECT_EQ(tf.offset_y, static_cast<float>(y0));
    EXPECT_FLOAT_EQ(tf.to_src_x(static_cast<float>(x0)), 0.0f);
    EXPECT_FLOAT_EQ(tf.to_src_y(static_cast<float>(y0)), 0.0f);
    EXPECT_FLOAT_EQ(tf.to_src_x(static_cast<float>(x0 + cw)), static_cast<float>(c.sw));
    EXPECT_FLOAT_EQ(tf.to_src_y(static_cast<float>(y0 + ch)), static_cast<float>(c.sh));
  }
}

TEST(PreprocessKernels, BatchPacksImagesBackToBack) {
  TestImage a = random_image(PixelFormat::kBGR24, 81, 40, 11);
  TestImage b = random_image(PixelFormat::kNV12, 64, 96, 12);
  PreprocessSpec spec;
  spec.width = 24;
  spec.height = 24;
  spec.mode = ResizeMode::kLetterbox;
  const size_t item = preprocess_output_bytes(spec);
  std::vector<uint8_t> batch(2 * item);
  ImageView imgs[2] = {a.view, b.view};
  BoxTransform tfs[2];
  Preprocessor pre;
  ASSERT_TRUE(pre.run_batch(imgs, 2, spec, batch.data(), batch.size(), tfs).is_ok());
  EXPECT_EQ(std::vector<uint8_t>(batch.begin(), batch.begin() + item),
            run_impl(Preprocessor::Impl::kAuto, a.view, spec));
  EXPECT_EQ(std::vector<uint8_t>(batch.begin() + item, batch.end()),
            run_impl(Preprocessor::Impl::kAuto, b.view, spec));
  EXPECT_NE(tfs[0].offset_y, tfs[1].offset_y);
  Status small = pre.run_batch(imgs, 2, spec, batch.data(), item, nullptr);
  EXPECT_EQ(small.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(small.message().find("a batch of 2"), std::string::npos);
  // Sizes whose product does not fit in size_t are named, not wrapped to "needs 0".
  PreprocessSpec huge = spec;
  huge.width = huge.height = 32768;
  huge.dtype = DataType::kFloat32;
  // The size check comes before any image is read, so two images stand for INT32_MAX.
  Status wrap = pre.run_batch(imgs, INT32_MAX, huge, batch.data(), batch.size(), nullptr);
  EXPECT_EQ(wrap.message(),
            "preprocess: output holds " + std::to_string(batch.size()) +
                " bytes, a batch of 2147483647 tensors of 12884901888 bytes needs more than " +
                std::to_string(SIZE_MAX))
      << wrap.message();
  huge.width = 32769;
  EXPECT_NE(pre.run_batch(imgs, 2, huge, batch.data(), batch.size(), nullptr)
                .message()
                .find("at most 32768 a side"),
            std::string::npos);
  ImageView bad[2] = {a.view, b.view};
  bad[1].strides[0] = 1;
  Status named = pre.run_batch(bad, 2, spec, batch.data(), batch.size(), nullptr);
  EXPECT_NE(named.message().find("batch image 1"), std::string::npos) << named.message();
}

TEST(PreprocessKernels, HalfConversionRoundsToNearestEven) {
  EXPECT_EQ(detail::float_to_half(1.0f), 0x3C00);
  EXPECT_EQ(detail::float_to_half(-2.0f), 0xC000);
  EXPECT_EQ(detail::float_to_half(65504.0f), 0x7BFF);
  EXPECT_EQ(detail::float_to_half(1e6f), 0x7C00);
  EXPECT_EQ(detail::float_to_half(1.0f + 1.0f / 2048), 0x3C00);  // tie rounds to even
  EXPECT_EQ(detail::float_to_half(1.0f + 3.0f / 2048), 0x3C02);
  EXPECT_EQ(detail::float_to_half(5.96046448e-8f), 0x0001);  // smallest subnormal
  for (float f : {0.0f, 0.5f, -0.75f, 3.140625f, 1000.0f, 6.1035156e-05f}) {
    EXPECT_EQ(detail::half_to_float(detail::float_to_half(f)), f);
  }
}

Status run_once(const ImageView& img, const PreprocessSpec& spec, size_t dst_bytes = 1 << 20,
                void* dst = nullptr) {
  static std::vector<uint8_t> out(1 << 20);
  Preprocessor pre;
  return pre.run(img, spec, dst ? dst : out.data(), dst_bytes, nullptr);
}

TEST(PreprocessKernels, BadInputGetsAStatusNamingTheCause) {
  std::vector<uint8_t> buf(64 * 64 * 3);
  PreprocessSpec spec;
  spec.width = spec.height = 16;
  auto msg_has = [](const Status& s, const std::string& needle) {
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
  };
  ImageView img = ImageView::packed(PixelFormat::kBGR24, 0, 8, buf.data(), 24);
  msg_has(run_once(img, spec), "size must be positive");
  img = ImageView::packed(PixelFormat::kBGR24, 8, -3, buf.data(), 24);
  msg_has(run_once(img, spec), "size must be positive");
  img = ImageView::packed(PixelFormat::kBGR24, 8, 8, buf.data(), 23);
  msg_has(run_once(img, spec), "stride of plane 0 is 23");
  img = ImageView::packed(PixelFormat::kBGR24, 8, 8, nullptr, 24);
  msg_has(run_once(img, spec), "plane 0 is NULL");
  ImageView nv = ImageView::packed(PixelFormat::kNV12, 9, 8, buf.data(), 16);
  nv.planes[1] = buf.data();
  nv.strides[1] = 16;
  msg_has(run_once(nv, spec), "needs even width and height");
  nv.width = 8;
  nv.planes[1] = nullptr;
  msg_has(run_once(nv, spec), "plane 1 is NULL");
  nv.planes[1] = buf.data();
  img = ImageView::packed(PixelFormat::kBGR24, 8, 8, buf.data(), 24);
  msg_has(run_once(img, spec, 16, buf.data()), "needs 3072");
  Preprocessor pre;
  msg_has(pre.run(img, spec, nullptr, 1 << 20, nullptr), "output tensor is NULL");
  msg_has(pre.run(img, spec, buf.data() + 1, 4096, nullptr), "not aligned");
  PreprocessSpec s2 = spec;
  s2.width = -1;
  msg_has(run_once(img, s2), "network input size must be positive");
  s2 = spec;
  s2.std[1] = 0;
  msg_has(run_once(img, s2), "std[1]");
  s2 = spec;
  s2.dtype = DataType::kUInt8;
  s2.quant_scale = 0;
  msg_has(run_once(img, s2), "quant_scale");
  s2 = spec;
  s2.dtype = DataType::kInt64;
  msg_has(run_once(img, s2), "dtype int64");
  s2 = spec;
  s2.roi = {4, 4, 8, 8};
  msg_has(run_once(img, s2), "outside the 8x8 image");
  s2.roi = {1, 2, 4, 4};
  msg_has(run_once(nv, s2), "needs even x, y, width and height");
  s2.roi = {-1, 0, 4, 4};
  msg_has(run_once(img, s2), "roi must not be negative");
  ImageView none[1] = {img};
  msg_has(pre.run_batch(none, 0, spec, buf.data(), buf.size(), nullptr), "at least one image");
}

TEST(PreprocessKernels, SteadyStateCallsAllocateNothing) {
  TestImage img = random_image(PixelFormat::kNV12, 640, 360, 5);
  PreprocessSpec spec;
  spec.width = 320;
  spec.height = 320;
  spec.mode = ResizeMode::kLetterbox;
  // The input tensor side of inference I/O: a heap Tensor that keeps its capacity and a
  // pool-backed Tensor, reshaped every frame as a detector does.
  auto pool = Pool::create_block_pool("input", 3 * 320 * 320 * sizeof(float), 1);
  ASSERT_TRUE(pool.is_ok());
  Tensor heap, pooled;
  const std::vector<int64_t> shape = {1, 3, 320, 320};
  for (int threads : {1, 2}) {
    Preprocessor pre(threads);
    auto frame = [&] {
      heap.reshape(DataType::kFloat32, shape);
      ASSERT_TRUE(pooled.reshape_from_pool(*pool.value(), DataType::kFloat32, shape).is_ok());
      ASSERT_TRUE(pre.run(img.view, spec, heap.as<float>(), nullptr).is_ok());
      ASSERT_TRUE(pre.run(img.view, spec, pooled.as<float>(), nullptr).is_ok());
    };
    frame();  // warm-up
    const long before = g_news.load();
    for (int i = 0; i < 5; ++i) frame();
    EXPECT_EQ(g_news.load() - before, 0) << threads << " thread(s)";
  }
  const PoolStats s = pool.value()->stats();
  EXPECT_EQ(s.misses, 1u);  // one block for the whole run
  EXPECT_EQ(s.failed, 0u);
}

}  // namespace
}  // namespace vas
