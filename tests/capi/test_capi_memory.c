/* Strict C99 test of the memory-pool C API: allocator hooks (counting and failing the i-th
   allocation), bounds, references, stats, bad arguments, and destroy with buffers out. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vasdk/vasdk.h>

#include "capi_check.h"

typedef struct counting {
  int allocs;
  int frees;
  int fail_at; /* 1-based allocation that fails; 0 = never */
  size_t live_bytes;
} counting_t;

static void* hook_alloc(size_t size, size_t alignment, void* user) {
  counting_t* c = (counting_t*)user;
  void* p = NULL;
  c->allocs++;
  if (c->allocs == c->fail_at) return NULL;
  /* C99 has no aligned_alloc; over-allocate and keep the raw pointer before the block. */
  {
    unsigned char* raw = (unsigned char*)malloc(size + alignment + sizeof(void*));
    uintptr_t a;
    if (raw == NULL) return NULL;
    a = ((uintptr_t)(raw + sizeof(void*)) + alignment - 1) & ~(uintptr_t)(alignment - 1);
    p = (void*)a;
    memcpy((unsigned char*)p - sizeof(void*), &raw, sizeof(void*));
  }
  c->live_bytes += size;
  return p;
}

static void hook_free(void* ptr, size_t size, void* user) {
  counting_t* c = (counting_t*)user;
  unsigned char* raw;
  c->frees++;
  c->live_bytes -= size;
  memcpy(&raw, (unsigned char*)ptr - sizeof(void*), sizeof(void*));
  free(raw);
}

static vas_pool_t* make_pool(counting_t* c, size_t block, size_t count) {
  vas_pool_config_t cfg;
  vas_pool_t* pool = NULL;
  vas_pool_config_init(&cfg);
  cfg.name = "c-frames";
  cfg.min_block = cfg.max_block = block;
  cfg.capacity_bytes = block * count;
  cfg.alloc = hook_alloc;
  cfg.free = hook_free;
  cfg.user = c;
  CHECK(vas_pool_create(&cfg, &pool) == VAS_OK);
  return pool;
}

static void test_reuse_and_zero_allocations_after_warmup(void) {
  counting_t c = {0, 0, 0, 0};
  vas_pool_t* pool = make_pool(&c, 1 << 16, 3);
  vas_pool_stats_t st;
  void* bufs[3] = {NULL, NULL, NULL};
  int frame, i;
  for (frame = 0; frame < 50; ++frame) {
    for (i = 0; i < 3; ++i) {
      CHECK(vas_pool_acquire(pool, 1000 + (size_t)i, &bufs[i]) == VAS_OK);
      CHECK(((uintptr_t)bufs[i] % 64) == 0);
      memset(bufs[i], frame, 1000);
    }
    for (i = 0; i < 3; ++i) vas_buffer_release(bufs[i]);
  }
  CHECK(c.allocs == 3); /* only the first frame reached the allocator */
  vas_pool_stats_init(&st);
  CHECK(vas_pool_get_stats(pool, &st) == VAS_OK);
  CHECK(st.misses == 3 && st.hits == 147 && st.failed == 0);
  CHECK(st.in_use_buffers == 0 && st.high_water_bytes == 3u << 16);
  CHECK(st.capacity_bytes == 3u << 16);
  vas_pool_destroy(pool);
  CHECK(c.frees == 3 && c.live_bytes == 0);
}

static void test_exhaustion_and_references(void) {
  counting_t c = {0, 0, 0, 0};
  vas_pool_t* pool = make_pool(&c, 4096, 1);
  void* a = NULL;
  void* b = (void*)&c; /* sentinel: must stay untouched on error */
  vas_pool_stats_t st;
  CHECK(vas_pool_acquire(pool, 4096, &a) == VAS_OK);
  CHECK(vas_pool_acquire(pool, 1, &b) == VAS_ERR_POOL_EXHAUSTED);
  CHECK(b == (void*)&c);
  CHECK(strstr(vas_last_error_message(), "pool 'c-frames' exhausted") != NULL);
  CHECK(vas_pool_acquire(pool, 4097, &b) == VAS_ERR_POOL_EXHAUSTED);
  CHECK(vas_pool_acquire(pool, 0, &b) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(vas_buffer_retain(a) == VAS_OK);
  vas_buffer_release(a); /* one reference left */
  vas_pool_stats_init(&st);
  CHECK(vas_pool_get_stats(pool, &st) == VAS_OK && st.in_use_buffers == 1);
  vas_buffer_release(a);
  CHECK(vas_pool_get_stats(pool, &st) == VAS_OK && st.in_use_buffers == 0 && st.failed == 2);
  vas_buffer_release(NULL);
  CHECK(vas_buffer_retain(NULL) == VAS_ERR_INVALID_ARGUMENT);
  vas_pool_destroy(pool);
}

static void test_failing_allocator_each_allocation(void) {
  int i;
  for (i = 1; i <= 2; ++i) {
    counting_t c = {0, 0, 0, 0};
    vas_pool_t* pool;
    void* a = NULL;
    void* b = NULL;
    c.fail_at = i;
    pool = make_pool(&c, 256, 2);
    if (i == 1) {
      CHECK(vas_pool_acquire(pool, 256, &a) == VAS_ERR_OUT_OF_MEMORY);
      CHECK(strstr(vas_last_error_message(), "allocator failed") != NULL);
      CHECK(vas_pool_acquire(pool, 256, &a) == VAS_OK);
      CHECK(vas_pool_acquire(pool, 256, &b) == VAS_OK);
    } else {
      CHECK(vas_pool_acquire(pool, 256, &a) == VAS_OK);
      CHECK(vas_pool_acquire(pool, 256, &b) == VAS_ERR_OUT_OF_MEMORY);
      CHECK(vas_pool_acquire(pool, 256, &b) == VAS_OK);
    }
    vas_buffer_release(a);
    vas_buffer_release(b);
    vas_pool_destroy(pool);
    CHECK(c.live_bytes == 0 && c.allocs == 3 && c.frees == 2);
  }
}

static void test_destroy_with_buffers_out(void) {
  counting_t c = {0, 0, 0, 0};
  vas_pool_t* pool = make_pool(&c, 512, 2);
  void* a = NULL;
  CHECK(vas_pool_acquire(pool, 512, &a) == VAS_OK);
  vas_pool_destroy(pool); /* reported on stderr; a stays valid */
  memset(a, 1, 512);
  CHECK(c.allocs == 1 && c.frees == 0 && c.live_bytes > 512); /* block plus its header */
  vas_buffer_release(a);
  CHECK(c.live_bytes == 0);
}

static void test_bad_arguments(void) {
  vas_pool_config_t cfg;
  vas_pool_t* pool = (vas_pool_t*)&cfg; /* sentinel */
  vas_pool_stats_t st;
  CHECK(vas_pool_create(NULL, &pool) == VAS_ERR_INVALID_ARGUMENT);
  vas_pool_config_init(&cfg);
  CHECK(vas_pool_create(&cfg, NULL) == VAS_ERR_INVALID_ARGUMENT);
  cfg.struct_size = 8;
  CHECK(vas_pool_create(&cfg, &pool) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(strstr(vas_last_error_message(), "struct_size") != NULL);
  vas_pool_config_init(&cfg);
  cfg.min_block = cfg.max_block = 4096;
  cfg.capacity_bytes = 100;
  CHECK(vas_pool_create(&cfg, &pool) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(strstr(vas_last_error_message(), "capacity_bytes") != NULL);
  cfg.capacity_bytes = 8192;
  cfg.alignment = 24;
  CHECK(vas_pool_create(&cfg, &pool) == VAS_ERR_INVALID_ARGUMENT);
  cfg.alignment = 64;
  cfg.alloc = hook_alloc; /* free missing */
  CHECK(vas_pool_create(&cfg, &pool) == VAS_ERR_INVALID_ARGUMENT);
  CHECK(pool == (vas_pool_t*)&cfg);
  CHECK(vas_pool_acquire(NULL, 1, (void**)&pool) == VAS_ERR_INVALID_ARGUMENT);
  vas_pool_stats_init(&st);
  CHECK(vas_pool_get_stats(NULL, &st) == VAS_ERR_INVALID_ARGUMENT);
  vas_pool_destroy(NULL);
}

int main(void) {
  test_reuse_and_zero_allocations_after_warmup();
  test_exhaustion_and_references();
  test_failing_allocator_each_allocation();
  test_destroy_with_buffers_out();
  test_bad_arguments();
  if (g_failures) {
    fprintf(stderr, "%d check(s) failed\n", g_failures);
    return 1;
  }
  printf("capi memory: all checks passed\n");
  return 0;
}
