// Memory pools: fixed-size block pools and size-class arenas with a hard capacity bound.
//
// Inference runs with fixed shapes, so frames, crops and tensors are acquired from a pool and
// come back to it instead of being allocated per frame. A pool holds at most
// `capacity_bytes` of block memory from its allocator; when a request does not fit,
// acquire() returns StatusCode::kPoolExhausted and the caller decides (drop, wait, degrade).
//
// Ownership: acquire() returns a PoolBuffer, a reference-counted handle; the block goes back to
// its pool's free list when the last copy is destroyed. The Pool object is owned by whoever
// created it (unique_ptr). Destroying a Pool while buffers are still out is detected: it is
// reported on stderr and through outstanding(), and the memory of those buffers is returned
// to the allocator when they are released; nothing dangles and nothing crashes.
//
// Thread safety: a pool created with thread_safe = true (the locked variant) may be used from
// any thread. With thread_safe = false (the unlocked per-thread variant, a little cheaper) the
// pool and every buffer acquired from it must be acquired and released on one thread at a
// time. PoolBuffer copies may be handed between threads in either case as long as the last
// release of an unlocked pool's buffer happens on its owning thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/allocator.h"
#include "core/status.h"

namespace vas {

namespace detail {
class PoolCore;
struct PoolBlock;
}  // namespace detail

// Limits checked by Pool::create, equal to the C header's VAS_POOL_MAX_BLOCK and
// VAS_POOL_MAX_ALIGNMENT: block sizes and header arithmetic never wrap.
constexpr size_t kMaxPoolBlockBytes = size_t{1} << 48;
constexpr size_t kMaxPoolAlignment = size_t{1} << 21;

struct PoolConfig {
  std::string name = "pool";  // used in messages
  // Size classes are min_block, 2*min_block, 4*min_block, ... up to max_block (the last class
  // is exactly max_block). A fixed-size block pool has min_block == max_block.
  size_t min_block = 4096;
  size_t max_block = 4096;  // at most kMaxPoolBlockBytes
  // Hard bound on the block bytes the pool holds from its allocator (cached + in use); at
  // least max_block.
  size_t capacity_bytes = 0;
  bool thread_safe = true;
  // Power of two in alignof(void*)..kMaxPoolAlignment; data() of every buffer is aligned to it.
  size_t alignment = 64;
  // Borrowed; nullptr means default_allocator(). Must outlive every buffer of the pool.
  Allocator* allocator = nullptr;
  // C hooks (the C API's allocator): used when `allocator` is nullptr and hooks.alloc and
  // hooks.free are set. The pool keeps its own HookAllocator alive until its last buffer.
  AllocatorHooks hooks;
};

struct PoolStats {
  size_t capacity_bytes = 0;    // the hard bound
  size_t reserved_bytes = 0;    // block bytes currently held from the allocator
  size_t in_use_bytes = 0;      // block bytes of buffers currently out
  size_t in_use_buffers = 0;    // buffers currently out
  size_t high_water_bytes = 0;  // maximum of in_use_bytes so far
  uint64_t hits = 0;            // acquisitions served from a cached block
  uint64_t misses = 0;          // acquisitions that had to call the allocator
  uint64_t failed = 0;          // acquisitions refused (exhausted or allocator failure)
};

// A reference-counted handle to one pool block. Empty when default-constructed.
class PoolBuffer {
 public:
  PoolBuffer() = default;
  PoolBuffer(const PoolBuffer& other) noexcept;
  PoolBuffer& operator=(const PoolBuffer& other) noexcept;
  PoolBuffer(PoolBuffer&& other) noexcept : block_(other.block_) { other.block_ = nullptr; }
  PoolBuffer& operator=(PoolBuffer&& other) noexcept;
  ~PoolBuffer() { reset(); }

  void* data() const;
  template <typename T>
  T* as() const {
    return static_cast<T*>(data());
  }
  size_t size() const;      // bytes requested at acquire()
  size_t capacity() const;  // bytes of the block (its size class), >= size()
  int use_count() const;    // copies sharing the block; 0 when empty
  explicit operator bool() const { return block_ != nullptr; }
  // Drops this reference; the block returns to its pool when it was the last one.
  void reset() noexcept;

  // For the C API, whose buffers are plain data pointers: detach() gives up this handle and
  // returns data() carrying its reference; attach() turns such a pointer back into a handle
  // that owns that reference. attach() of a pointer that is not the data of a live block with
  // a reference out returns an empty handle; the pointer is looked up, never dereferenced.
  void* detach() noexcept;
  static PoolBuffer attach(void* data) noexcept;
  // A new reference to the block holding a detached pointer (empty if not recognised).
  static PoolBuffer share(void* data) noexcept;

 private:
  friend class detail::PoolCore;
  explicit PoolBuffer(detail::PoolBlock* block) : block_(block) {}
  detail::PoolBlock* block_ = nullptr;
};

class Pool {
 public:
  // Validates the config (the message names the field) and creates an empty pool.
  static Result<std::unique_ptr<Pool>> create(const PoolConfig& config);
  // Fixed-size block pool of at most max_blocks blocks of block_size bytes.
  static Result<std::unique_ptr<Pool>> create_block_pool(const std::string& name, size_t block_size,
                                                         size_t max_blocks, bool thread_safe = true,
                                                         Allocator* allocator = nullptr);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // A buffer of at least `bytes` bytes from the smallest size class that fits. Errors:
  // kInvalidArgument for 0 bytes; kPoolExhausted when bytes exceeds max_block or the capacity
  // bound would be crossed (cached blocks of other classes are given back first);
  // kOutOfMemory when the allocator fails. Never throws.
  Result<PoolBuffer> acquire(size_t bytes);
  // Allocates `count` blocks of the class serving `bytes` into the cache ahead of time, so the
  // first frames hit too. Same errors as acquire().
  Status reserve(size_t bytes, size_t count);
  // Gives cached (not in-use) blocks back to the allocator.
  void trim();

  PoolStats stats() const;
  size_t outstanding() const { return stats().in_use_buffers; }
  const std::string& name() const;
  // OK when no buffer is out; otherwise kRuntimeError naming the pool and the count, which is
  // what the destructor reports.
  Status check_idle() const;

 private:
  explicit Pool(detail::PoolCore* core) : core_(core) {}
  detail::PoolCore* core_;  // shared with outstanding buffers (intrusive count)
};

}  // namespace vas
