/* Strict C99 test of the preprocessing C API: the fast kernels against the scalar reference
   on odd sizes and strides, exact letterbox mapping, ROI, batch packing, pool-backed output
   with zero allocations after warm-up, and every bad-input case with the field it names. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vasdk/vasdk.h>

#include "capi_check.h"

/* The call failed with `code` and its message contains `needle`. */
static void check_error(vas_status_t got, vas_status_t code, const char* needle, int line) {
  if (got != code || strstr(vas_last_error_message(), needle) == NULL) {
    fprintf(stderr, "line %d: got %s \"%s\", want %s containing \"%s\"\n", line,
            vas_status_str(got), vas_last_error_message(), vas_status_str(code), needle);
    ++g_failures;
  }
}
#define CHECK_ERROR(call, code, needle) check_error((call), (code), (needle), __LINE__)

/* A deterministic pseudo-random image buffer (xorshift). */
static unsigned char* random_bytes(size_t n, uint32_t seed) {
  unsigned char* p = (unsigned char*)malloc(n);
  size_t i;
  uint32_t x = seed ? seed : 1u;
  for (i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p[i] = (unsigned char)(x >> 24);
  }
  return p;
}

static vas_image_t packed_image(int32_t format, int w, int h, int stride, const unsigned char* d) {
  vas_image_t img;
  vas_image_init(&img);
  img.format = format;
  img.width = w;
  img.height = h;
  img.planes[0] = d;
  img.strides[0] = stride;
  return img;
}

static vas_preprocessor_t* make(int threads, int32_t kernel) {
  vas_preprocessor_config_t cfg;
  vas_preprocessor_t* p = NULL;
  vas_preprocessor_config_init(&cfg);
  cfg.threads = threads;
  cfg.kernel = kernel;
  CHECK(vas_preprocessor_create(&cfg, &p) == VAS_OK);
  return p;
}

static double max_abs_diff_f32(const float* a, const float* b, size_t n) {
  double m = 0;
  size_t i;
  for (i = 0; i < n; ++i) {
    const double d = fabs((double)a[i] - (double)b[i]);
    if (d > m) m = d;
  }
  return m;
}

static void test_defaults(void) {
  vas_preprocess_spec_t s;
  vas_preprocess_spec_init(&s);
  CHECK(s.struct_size == sizeof(s));
  CHECK(s.resize_mode == VAS_RESIZE_STRETCH && s.interp == VAS_INTERP_BILINEAR);
  CHECK(s.channels == VAS_CHANNELS_RGB && s.layout == VAS_LAYOUT_NCHW);
  CHECK(s.dtype == VAS_DTYPE_FLOAT32 && s.pad_value == 114);
  CHECK(fabsf(s.scale - 1.0f / 255.0f) < 1e-9f && s.std[2] == 1.0f && s.mean[0] == 0.0f);
  s.width = 64;
  s.height = 48;
  CHECK(vas_preprocess_output_bytes(&s) == (size_t)3 * 64 * 48 * 4);
  s.dtype = VAS_DTYPE_FLOAT16;
  CHECK(vas_preprocess_output_bytes(&s) == (size_t)3 * 64 * 48 * 2);
  s.dtype = VAS_DTYPE_INT8;
  CHECK(vas_preprocess_output_bytes(&s) == (size_t)3 * 64 * 48);
  s.width = 0;
  CHECK(vas_preprocess_output_bytes(&s) == 0);
  CHECK(strstr(vas_last_error_message(), "vas_preprocess_spec_t.width") != NULL);
}

/* Letterbox of an odd-sized, padded-stride BGR image: fast kernels (1 and 2 threads) within
   1 LSB of the reference; the border is exactly the pad value; the box mapping is exact. */
static void test_letterbox_matches_reference(void) {
  const int w = 333, h = 211, stride = 333 * 3 + 7, net = 160;
  unsigned char* px = random_bytes((size_t)stride * h, 7);
  vas_image_t img = packed_image(VAS_PIXEL_FORMAT_BGR24, w, h, stride, px);
  vas_preprocess_spec_t s;
  vas_box_transform_t tf_ref, tf;
  const size_t n = (size_t)3 * net * net;
  float* ref = (float*)malloc(n * sizeof(float));
  float* out = (float*)malloc(n * sizeof(float));
  vas_preprocessor_t* pref = make(1, VAS_KERNEL_REFERENCE);
  int threads, x, y, c, k;
  float pad;
  vas_preprocess_spec_init(&s);
  s.width = s.height = net;
  s.resize_mode = VAS_RESIZE_LETTERBOX;
  CHECK(vas_preprocess(pref, &img, &s, ref, n * sizeof(float), &tf_ref) == VAS_OK);
  for (threads = 1; threads <= 2; ++threads) {
    vas_preprocessor_t* p = make(threads, VAS_KERNEL_AUTO);
    memset(out, 0, n * sizeof(float));
    CHECK(vas_preprocess(p, &img, &s, out, n * sizeof(float), &tf) == VAS_OK);
    CHECK(max_abs_diff_f32(ref, out, n) <= 1.0 / 255.0 + 1e-6);
    CHECK(memcmp(&tf, &tf_ref, sizeof(tf)) == 0);
    vas_preprocessor_destroy(p);
  }
  /* Each explicit SIMD kernel either runs within 1 LSB or is refused as unsupported. */
  for (k = 0; k < 2; ++k) {
    vas_preprocessor_config_t cfg;
    vas_preprocessor_t* p = NULL;
    vas_status_t st;
    vas_preprocessor_config_init(&cfg);
    cfg.kernel = k == 0 ? VAS_KERNEL_AVX2 : VAS_KERNEL_AVX512;
    st = vas_preprocessor_create(&cfg, &p);
    if (st == VAS_ERR_UNSUPPORTED) {
      CHECK(p == NULL && strstr(vas_last_error_message(), k == 0 ? "AVX2" : "AVX-512") != NULL);
      continue;
    }
    CHECK(st == VAS_OK);
    memset(out, 0, n * sizeof(float));
    CHECK(vas_preprocess(p, &img, &s, out, n * sizeof(float), &tf) == VAS_OK);
    CHECK(max_abs_diff_f32(ref, out, n) <= 1.0 / 255.0 + 1e-6);
    vas_preprocessor_destroy(p);
  }
  /* 333x211 -> 160x101 centred: offset_y = (160 - 101) / 2 = 29, offset_x = 0. */
  CHECK(tf.offset_x == 0.0f && tf.offset_y == 29.0f);
  CHECK(fabsf(tf.scale_x - 160.0f / 333.0f) < 1e-3f && fabsf(tf.scale_y - 101.0f / 211.0f) < 1e-3f);
  /* The source corners land on the content rectangle's corners. */
  CHECK(fabsf((0.0f - tf.offset_x) / tf.scale_x) < 1e-4f);
  CHECK(fabsf((160.0f - tf.offset_x) / tf.scale_x - (float)w) < 1e-3f);
  CHECK(fabsf((130.0f - tf.offset_y) / tf.scale_y - (float)h) < 1e-3f);
  /* The border is pad_value normalised as pixels are: pad * (scale / std) - mean / std. */
  pad = 114.0f * (1.0f / 255.0f);
  for (c = 0; c < 3; ++c) {
    for (x = 0; x < net; ++x) {
      for (y = 0; y < 29; ++y) CHECK(out[((size_t)c * net + y) * net + x] == pad);
      for (y = 130; y < net; ++y) CHECK(out[((size_t)c * net + y) * net + x] == pad);
    }
  }
  /* RGB output of a BGR source: channel 0 of a nearest 1:1 copy is the source's byte 2. */
  {
    vas_preprocess_spec_t one;
    float* px1 = (float*)malloc((size_t)3 * w * h * sizeof(float));
    vas_preprocess_spec_init(&one);
    one.width = w;
    one.height = h;
    one.scale = 1.0f;
    one.interp = VAS_INTERP_NEAREST;
    CHECK(vas_preprocess(pref, &img, &one, px1, (size_t)3 * w * h * sizeof(float), NULL) == VAS_OK);
    CHECK(px1[0] == (float)px[2] && px1[(size_t)2 * w * h] == (float)px[0]);
    CHECK(px1[(size_t)5 * w + 4] == (float)px[(size_t)5 * stride + 4 * 3 + 2]);
    free(px1);
  }
  vas_preprocessor_destroy(pref);
  free(ref);
  free(out);
  free(px);
}

/* NV12 with padded strides into quantized uint8 NHWC BGR: fast within 1 LSB of reference. */
static void test_nv12_uint8_nhwc(void) {
  const int w = 258, h = 146, ys = 272, uvs = 264, net_w = 96, net_h = 64;
  unsigned char* luma = random_bytes((size_t)ys * h, 3);
  unsigned char* chroma = random_bytes((size_t)uvs * h / 2, 5);
  vas_image_t img;
  vas_preprocess_spec_t s;
  const size_t n = (size_t)3 * net_w * net_h;
  unsigned char ref[3 * 96 * 64], out[3 * 96 * 64];
  vas_preprocessor_t* pref = make(1, VAS_KERNEL_REFERENCE);
  vas_preprocessor_t* p = make(2, VAS_KERNEL_AUTO);
  size_t i;
  int worst = 0;
  vas_image_init(&img);
  img.format = VAS_PIXEL_FORMAT_NV12;
  img.width = w;
  img.height = h;
  img.planes[0] = luma;
  img.planes[1] = chroma;
  img.strides[0] = ys;
  img.strides[1] = uvs;
  vas_preprocess_spec_init(&s);
  s.width = net_w;
  s.height = net_h;
  s.channels = VAS_CHANNELS_BGR;
  s.layout = VAS_LAYOUT_NHWC;
  s.dtype = VAS_DTYPE_UINT8;
  s.scale = 1.0f;
  s.quant_scale = 1.0f;
  CHECK(vas_preprocess(pref, &img, &s, ref, n, NULL) == VAS_OK);
  CHECK(vas_preprocess(p, &img, &s, out, n, NULL) == VAS_OK);
  for (i = 0; i < n; ++i) {
    const int d = abs((int)ref[i] - (int)out[i]);
    if (d > worst) worst = d;
  }
  CHECK(worst <= 1);
  vas_preprocessor_destroy(p);
  vas_preprocessor_destroy(pref);
  free(luma);
  free(chroma);
}

/* A ROI gives the same tensor as preprocessing a copy of the region, and its transform maps
   back into the full image. */
static void test_roi(void) {
  const int w = 120, h = 90, rx = 17, ry = 9, rw = 61, rh = 47, net = 32;
  unsigned char* px = random_bytes((size_t)w * h * 3, 11);
  unsigned char* sub = (unsigned char*)malloc((size_t)rw * rh * 3);
  vas_image_t full = packed_image(VAS_PIXEL_FORMAT_RGB24, w, h, w * 3, px);
  vas_image_t crop = packed_image(VAS_PIXEL_FORMAT_RGB24, rw, rh, rw * 3, sub);
  vas_preprocess_spec_t s;
  vas_box_transform_t tf_roi, tf_sub;
  float a[3 * 32 * 32], b[3 * 32 * 32];
  vas_preprocessor_t* p = make(1, VAS_KERNEL_AUTO);
  int y;
  for (y = 0; y < rh; ++y) {
    memcpy(sub + (size_t)y * rw * 3, px + ((size_t)(ry + y) * w + rx) * 3, (size_t)rw * 3);
  }
  vas_preprocess_spec_init(&s);
  s.width = s.height = net;
  s.resize_mode = VAS_RESIZE_LETTERBOX;
  CHECK(vas_preprocess(p, &crop, &s, b, sizeof(b), &tf_sub) == VAS_OK);
  s.roi_x = rx;
  s.roi_y = ry;
  s.roi_width = rw;
  s.roi_height = rh;
  CHECK(vas_preprocess(p, &full, &s, a, sizeof(a), &tf_roi) == VAS_OK);
  CHECK(max_abs_diff_f32(a, b, sizeof(a) / sizeof(a[0])) == 0.0);
  /* Output (x, y) maps to the crop's source point plus the ROI origin. */
  CHECK(fabsf((10.0f - tf_roi.offset_x) / tf_roi.scale_x -
              ((10.0f - tf_sub.offset_x) / tf_sub.scale_x + (float)rx)) < 1e-3f);
  CHECK(fabsf((20.0f - tf_roi.offset_y) / tf_roi.scale_y -
              ((20.0f - tf_sub.offset_y) / tf_sub.scale_y + (float)ry)) < 1e-3f);
  vas_preprocessor_destroy(p);
  free(sub);
  free(px);
}

/* A batch of three different images equals three single calls, slice by slice. */
static void test_batch(void) {
  const int net = 48;
  const size_t item = (size_t)3 * net * net;
  unsigned char* d0 = random_bytes(100 * 70 * 3, 21);
  unsigned char* d1 = random_bytes(31 * 77, 22);
  unsigned char* d2 = random_bytes(64 * 64 * 3, 23);
  vas_image_t i0 = packed_image(VAS_PIXEL_FORMAT_BGR24, 100, 70, 300, d0);
  vas_image_t i1 = packed_image(VAS_PIXEL_FORMAT_GRAY8, 31, 77, 31, d1);
  vas_image_t i2 = packed_image(VAS_PIXEL_FORMAT_RGB24, 64, 64, 192, d2);
  const vas_image_t* imgs[3];
  vas_preprocess_spec_t s;
  vas_box_transform_t tfs[3], tf;
  float* batch = (float*)malloc(3 * item * sizeof(float));
  float* single = (float*)malloc(item * sizeof(float));
  vas_preprocessor_t* p = make(2, VAS_KERNEL_AUTO);
  int i;
  imgs[0] = &i0;
  imgs[1] = &i1;
  imgs[2] = &i2;
  vas_preprocess_spec_init(&s);
  s.width = s.height = net;
  s.resize_mode = VAS_RESIZE_LETTERBOX;
  CHECK(vas_preprocess_batch(p, imgs, 3, &s, batch, 3 * item * sizeof(float), tfs) == VAS_OK);
  for (i = 0; i < 3; ++i) {
    CHECK(vas_preprocess(p, imgs[i], &s, single, item * sizeof(float), &tf) == VAS_OK);
    CHECK(memcmp(single, batch + item * (size_t)i, item * sizeof(float)) == 0);
    CHECK(memcmp(&tf, &tfs[i], sizeof(tf)) == 0);
  }
  /* Gray: the three channels are equal. */
  CHECK(memcmp(batch + item, batch + item + (size_t)net * net, (size_t)net * net * 4) == 0);
  vas_preprocessor_destroy(p);
  free(batch);
  free(single);
  free(d0);
  free(d1);
  free(d2);
}

static int g_allocs = 0;
static void* count_alloc(size_t size, size_t alignment, void* user) {
  void* p = NULL;
  (void)user;
  ++g_allocs;
  /* C99 has no aligned_alloc: over-allocate and keep the raw pointer before the block. */
  {
    unsigned char* raw = (unsigned char*)malloc(size + alignment + sizeof(void*));
    uintptr_t a;
    if (raw == NULL) return NULL;
    a = ((uintptr_t)(raw + sizeof(void*)) + alignment - 1) & ~(uintptr_t)(alignment - 1);
    p = (void*)a;
    memcpy((unsigned char*)p - sizeof(void*), &raw, sizeof(void*));
  }
  return p;
}
static void count_free(void* ptr, size_t size, void* user) {
  unsigned char* raw;
  (void)size;
  (void)user;
  memcpy(&raw, (unsigned char*)ptr - sizeof(void*), sizeof(void*));
  free(raw);
}

/* Frames preprocessed into pool buffers: after the first frame the pool serves every
   acquisition from its cache, so no frame reaches the allocator. */
static void test_pool_backed_output(void) {
  vas_pool_config_t pc;
  vas_pool_t* pool = NULL;
  vas_pool_stats_t st;
  vas_preprocess_spec_t s;
  unsigned char* px = random_bytes(640 * 360 * 3, 31);
  vas_image_t img = packed_image(VAS_PIXEL_FORMAT_BGR24, 640, 360, 640 * 3, px);
  vas_preprocessor_t* p = make(2, VAS_KERNEL_AUTO);
  size_t bytes;
  int frame;
  vas_preprocess_spec_init(&s);
  s.width = s.height = 320;
  s.resize_mode = VAS_RESIZE_LETTERBOX;
  bytes = vas_preprocess_output_bytes(&s);
  vas_pool_config_init(&pc);
  pc.min_block = pc.max_block = bytes;
  pc.capacity_bytes = 2 * bytes;
  pc.alloc = count_alloc;
  pc.free = count_free;
  CHECK(vas_pool_create(&pc, &pool) == VAS_OK);
  for (frame = 0; frame < 20; ++frame) {
    void* buf = NULL;
    CHECK(vas_pool_acquire(pool, bytes, &buf) == VAS_OK);
    CHECK(vas_preprocess(p, &img, &s, buf, bytes, NULL) == VAS_OK);
    vas_buffer_release(buf);
  }
  vas_pool_stats_init(&st);
  CHECK(vas_pool_get_stats(pool, &st) == VAS_OK);
  CHECK(g_allocs == 1 && st.misses == 1 && st.hits == 19);
  vas_pool_destroy(pool);
  vas_preprocessor_destroy(p);
  free(px);
}

static void test_bad_input(void) {
  unsigned char px[64 * 48 * 3] = {0};
  float out[3 * 16 * 16];
  vas_image_t img = packed_image(VAS_PIXEL_FORMAT_BGR24, 64, 48, 64 * 3, px);
  vas_image_t bad;
  vas_preprocess_spec_t s, t;
  vas_preprocessor_config_t cfg;
  vas_preprocessor_t* p = make(1, VAS_KERNEL_AUTO);
  vas_preprocessor_t* q = (vas_preprocessor_t*)&cfg; /* sentinel: must stay untouched */
  const vas_image_t* imgs[2];
  vas_box_transform_t tf = {9.0f, 9.0f, 9.0f, 9.0f};
  const size_t ob = sizeof(out);
  memset(px, 50, sizeof(px));
  vas_preprocess_spec_init(&s);
  s.width = s.height = 16;

  /* Handles and pointers. */
  CHECK_ERROR(vas_preprocessor_create(NULL, NULL), VAS_ERR_INVALID_ARGUMENT, "out is NULL");
  CHECK_ERROR(vas_preprocess(NULL, &img, &s, out, ob, NULL), VAS_ERR_INVALID_ARGUMENT,
              "preprocessor is NULL");
  CHECK_ERROR(vas_preprocess(p, NULL, &s, out, ob, NULL), VAS_ERR_INVALID_ARGUMENT,
              "image is NULL");
  CHECK_ERROR(vas_preprocess(p, &img, NULL, out, ob, NULL), VAS_ERR_INVALID_ARGUMENT,
              "spec is NULL");
  CHECK_ERROR(vas_preprocess(p, &img, &s, NULL, ob, NULL), VAS_ERR_INVALID_ARGUMENT, "out is NULL");

  /* Config. */
  vas_preprocessor_config_init(&cfg);
  cfg.threads = 0;
  CHECK_ERROR(vas_preprocessor_create(&cfg, &q), VAS_ERR_INVALID_ARGUMENT, "threads is 0");
  cfg.threads = 1;
  cfg.kernel = 7;
  CHECK_ERROR(vas_preprocessor_create(&cfg, &q), VAS_ERR_INVALID_ARGUMENT, "kernel is 7");
  cfg.kernel = VAS_KERNEL_AUTO;
  cfg.struct_size = 4;
  CHECK_ERROR(vas_preprocessor_create(&cfg, &q), VAS_ERR_INVALID_ARGUMENT, "struct_size");
  CHECK(q == (vas_preprocessor_t*)&cfg);

  /* Spec fields: each message names the field. */
#define BAD_SPEC(field_expr, needle)                                                          \
  do {                                                                                        \
    t = s;                                                                                    \
    field_expr;                                                                               \
    CHECK_ERROR(vas_preprocess(p, &img, &t, out, ob, &tf), VAS_ERR_INVALID_ARGUMENT, needle); \
  } while (0)
  BAD_SPEC(t.struct_size = 0, "struct_size");
  BAD_SPEC(t.width = 0, "vas_preprocess_spec_t.width is 0");
  BAD_SPEC(t.height = -5, "vas_preprocess_spec_t.height is -5");
  BAD_SPEC(t.width = 1 << 20, "vas_preprocess_spec_t.width");
  BAD_SPEC(t.resize_mode = 2, "resize_mode is 2");
  BAD_SPEC(t.interp = -1, "interp is -1");
  BAD_SPEC(t.channels = 3, "channels is 3");
  BAD_SPEC(t.layout = 0, "layout is 0");
  BAD_SPEC(t.dtype = 5, "dtype is 5");
  BAD_SPEC(t.scale = (float)NAN, "scale is not finite");
  BAD_SPEC(t.mean[1] = (float)INFINITY, "mean[1] is not finite");
  BAD_SPEC(t.std[2] = 0.0f, "std[2] must be finite and positive");
  BAD_SPEC(t.pad_value = 300, "pad_value is 300");
  BAD_SPEC((t.dtype = VAS_DTYPE_UINT8, t.quant_scale = 0.0f), "quant_scale");
  BAD_SPEC((t.dtype = VAS_DTYPE_UINT8, t.zero_point = 256), "zero_point is 256");
  BAD_SPEC((t.dtype = VAS_DTYPE_INT8, t.zero_point = -129), "zero_point is -129");
  BAD_SPEC(t.roi_x = -1, "roi_* must not be negative");
  BAD_SPEC((t.roi_x = 40, t.roi_width = 30, t.roi_height = 10), "outside the 64x48 image");
#undef BAD_SPEC

  /* Images: zero size, stride below the row, unknown format, odd NV12, NULL plane. */
  bad = img;
  bad.width = 0;
  CHECK_ERROR(vas_preprocess(p, &bad, &s, out, ob, NULL), VAS_ERR_INVALID_ARGUMENT,
              "size must be positive");
  bad = img;
  bad.strides[0] = 64 * 3 - 1;
  CHECK_ERROR(vas_preprocess(p, &bad, &s, out, ob, NULL), VAS_ERR_INVALID_ARGUMENT,
              "smaller than its row");
  bad = img;
  bad.format = 42;
  CHECK_ERROR(vas_preprocess(p, &bad, &s, out, ob, NULL), VAS_ERR_INVALID_ARGUMENT,
              "unknown pixel format 42");
  bad = img;
  bad.planes[0] = NULL;
  CHECK_ERROR(vas_preprocess(p, &bad, &s, out, ob, NULL), VAS_ERR_INVALID_ARGUMENT,
              "plane 0 is NULL");
  bad = img;
  bad.format = VAS_PIXEL_FORMAT_NV12;
  bad.width = 63;
  bad.planes[1] = px;
  bad.strides[1] = 64;
  CHECK_ERROR(vas_preprocess(p, &bad, &s, out, ob, NULL), VAS_ERR_INVALID_ARGUMENT, "even");
  bad.width = 64;
  t = s;
  t.roi_x = 1;
  t.roi_width = 20;
  t.roi_height = 20;
  CHECK_ERROR(vas_preprocess(p, &bad, &t, out, ob, NULL), VAS_ERR_INVALID_ARGUMENT, "even");
  bad = img;
  bad.struct_size = 3;
  CHECK_ERROR(vas_preprocess(p, &bad, &s, out, ob, NULL), VAS_ERR_INVALID_ARGUMENT, "struct_size");

  /* Output too small or misaligned. */
  CHECK_ERROR(vas_preprocess(p, &img, &s, out, ob - 1, NULL), VAS_ERR_INVALID_ARGUMENT,
              "needs 3072");
  {
    float roomy[3 * 16 * 16 + 1];
    CHECK_ERROR(vas_preprocess(p, &img, &s, (unsigned char*)roomy + 1, ob, NULL),
                VAS_ERR_INVALID_ARGUMENT, "aligned");
  }
  CHECK(tf.scale_x == 9.0f && tf.offset_y == 9.0f); /* untouched by every failed call */

  /* Batch. */
  imgs[0] = &img;
  imgs[1] = NULL;
  CHECK_ERROR(vas_preprocess_batch(p, NULL, 1, &s, out, ob, NULL), VAS_ERR_INVALID_ARGUMENT,
              "images is NULL");
  CHECK_ERROR(vas_preprocess_batch(p, imgs, 0, &s, out, ob, NULL), VAS_ERR_INVALID_ARGUMENT,
              "count is 0");
  CHECK_ERROR(vas_preprocess_batch(p, imgs, 2, &s, out, ob, NULL), VAS_ERR_INVALID_ARGUMENT,
              "2 images need 6144");
  {
    float two[2 * 3 * 16 * 16];
    two[0] = -7.0f;
    CHECK_ERROR(vas_preprocess_batch(p, imgs, 2, &s, two, sizeof(two), NULL),
                VAS_ERR_INVALID_ARGUMENT, "images[1]: image is NULL");
    CHECK(two[0] == -7.0f); /* nothing written before the bad image was found */
  }
  vas_preprocessor_destroy(p);
  vas_preprocessor_destroy(NULL);
}

int main(void) {
  test_defaults();
  test_letterbox_matches_reference();
  test_nv12_uint8_nhwc();
  test_roi();
  test_batch();
  test_pool_backed_output();
  test_bad_input();
  if (g_failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", g_failures);
    return 1;
  }
  printf("preprocess C API: all checks passed\n");
  return 0;
}
