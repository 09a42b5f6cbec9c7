// The extern "C" layer of the memory pools: argument checks, struct_size handling and the
// exception guard around csrc/core/pool. Buffers cross as plain data pointers that carry a
// reference (PoolBuffer::detach/attach), so acquiring and releasing allocate nothing.
#include <vasdk/vasdk.h>

#include <cstddef>
#include <memory>
#include <string>

#include "capi_util.h"
#include "core/pool.h"

// Frozen layouts: these offsets are ABI. Grow structs only at the end.
static_assert(offsetof(vas_pool_config_t, name) == 8, "ABI");
static_assert(offsetof(vas_pool_config_t, capacity_bytes) == 32, "ABI");
static_assert(offsetof(vas_pool_config_t, thread_safe) == 40, "ABI");
static_assert(offsetof(vas_pool_config_t, alignment) == 48, "ABI");
static_assert(offsetof(vas_pool_config_t, alloc) == 56, "ABI");
static_assert(offsetof(vas_pool_config_t, user) == 72, "ABI");
static_assert(sizeof(vas_pool_config_t) == 80, "ABI");
static_assert(offsetof(vas_pool_stats_t, capacity_bytes) == 8, "ABI");
static_assert(offsetof(vas_pool_stats_t, failed) == 64, "ABI");
static_assert(sizeof(vas_pool_stats_t) == 72, "ABI");
static_assert(static_cast<int>(vas::StatusCode::kPoolExhausted) == VAS_ERR_POOL_EXHAUSTED, "codes");
static_assert(VAS_POOL_MAX_BLOCK == vas::kMaxPoolBlockBytes, "limits");
static_assert(VAS_POOL_MAX_ALIGNMENT == vas::kMaxPoolAlignment, "limits");

struct vas_pool {
  std::unique_ptr<vas::Pool> impl;
};

namespace {

using namespace vas_capi;  // NOLINT(google-build-using-namespace)

}  // namespace

extern "C" {

void vas_pool_config_init(vas_pool_config_t* config) {
  if (config == nullptr) return;
  std::memset(config, 0, sizeof(*config));
  config->struct_size = sizeof(*config);
  config->thread_safe = 1;
  config->alignment = 64;
}

void vas_pool_stats_init(vas_pool_stats_t* stats) {
  if (stats == nullptr) return;
  std::memset(stats, 0, sizeof(*stats));
  stats->struct_size = sizeof(*stats);
}

vas_status_t vas_pool_create(const vas_pool_config_t* config, vas_pool_t** out) {
  static const char* fn = "vas_pool_create";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(config != nullptr, fn, "config is NULL");
    VAS_CHECK_ARG(out != nullptr, fn, "out is NULL");
    vas_pool_config_t c;
    if (!read_versioned(config, sizeof(vas_pool_config_t), &c)) {
      return fail(VAS_ERR_INVALID_ARGUMENT,
                  struct_size_message(fn, "vas_pool_config_t", config->struct_size,
                                      sizeof(vas_pool_config_t)));
    }
    vas::PoolConfig pc;
    pc.name = c.name ? c.name : "pool";
    pc.min_block = c.min_block;
    pc.max_block = c.max_block;
    pc.capacity_bytes = c.capacity_bytes;
    pc.thread_safe = c.thread_safe != 0;
    pc.alignment = c.alignment == 0 ? 64 : c.alignment;
    pc.hooks.alloc = c.alloc;
    pc.hooks.free = c.free;
    pc.hooks.user = c.user;
    auto pool = vas::Pool::create(pc);
    if (!pool.is_ok()) return fail(pool.status().with_context(fn));
    auto handle = std::make_unique<vas_pool>();
    handle->impl = std::move(pool).value();
    *out = handle.release();
    return VAS_OK;
  });
}

void vas_pool_destroy(vas_pool_t* pool) { delete pool; }

vas_status_t vas_pool_acquire(vas_pool_t* pool, size_t size, void** out_data) {
  static const char* fn = "vas_pool_acquire";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(pool != nullptr, fn, "pool is NULL");
    VAS_CHECK_ARG(out_data != nullptr, fn, "out_data is NULL");
    vas::Result<vas::PoolBuffer> buf = pool->impl->acquire(size);
    if (!buf.is_ok()) return fail(buf.status().with_context(fn));
    *out_data = buf.value().detach();
    return VAS_OK;
  });
}

vas_status_t vas_buffer_retain(void* data) {
  static const char* fn = "vas_buffer_retain";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(data != nullptr, fn, "data is NULL");
    vas::PoolBuffer extra = vas::PoolBuffer::share(data);
    VAS_CHECK_ARG(static_cast<bool>(extra), fn, "data is not a pool buffer");
    extra.detach();  // the new reference now belongs to the caller's pointer
    return VAS_OK;
  });
}

void vas_buffer_release(void* data) {
  if (data == nullptr) return;
  vas::PoolBuffer::attach(data).reset();
}

vas_status_t vas_pool_get_stats(const vas_pool_t* pool, vas_pool_stats_t* out) {
  static const char* fn = "vas_pool_get_stats";
  return guarded(fn, [&]() -> vas_status_t {
    VAS_CHECK_ARG(pool != nullptr, fn, "pool is NULL");
    VAS_CHECK_ARG(out != nullptr, fn, "out is NULL");
    VAS_CHECK_ARG(
        out->struct_size >= sizeof(vas_pool_stats_t), fn,
        struct_size_message(fn, "vas_pool_stats_t", out->struct_size, sizeof(vas_pool_stats_t)));
    const vas::PoolStats s = pool->impl->stats();
    vas_pool_stats_t r;
    vas_pool_stats_init(&r);
    r.capacity_bytes = s.capacity_bytes;
    r.reserved_bytes = s.reserved_bytes;
    r.in_use_bytes = s.in_use_bytes;
    r.in_use_buffers = s.in_use_buffers;
    r.high_water_bytes = s.high_water_bytes;
    r.hits = s.hits;
    r.misses = s.misses;
    r.failed = s.failed;
    write_versioned(r, out);
    return VAS_OK;
  });
}

}  // extern "C"
