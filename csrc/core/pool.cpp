#include "core/pool.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "core/log.h"

namespace vas {

namespace detail {

// Header in front of every block's data. The pool's free lists are intrusive (next), so
// acquiring and releasing never allocate.
struct PoolBlock {
  PoolCore* core = nullptr;
  PoolBlock* next = nullptr;
  std::atomic<int> refs{0};
  int size_class = 0;
  size_t size = 0;  // requested bytes
  unsigned char* data = nullptr;
};

// The data pointers of every live block of every pool, so that a pointer coming back through
// the C API (vas_buffer_retain/release) is recognised by lookup, without reading memory in
// front of a pointer that may not be ours. Process-wide by necessity: those calls take no
// pool. Only block allocation, block free and the C API lookups take its lock.
class BlockRegistry {
 public:
  bool add(PoolBlock* b) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    try {
      blocks_.emplace(b->data, b);
    } catch (const std::bad_alloc&) {
      return false;
    }
    return true;
  }
  void remove(PoolBlock* b) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    blocks_.erase(b->data);
  }
  // The block whose data starts at `data` and which is out (has a reference), with `extra`
  // references added under the lock; nullptr for anything else.
  PoolBlock* find_out(const void* data, int extra) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = blocks_.find(data);
    if (it == blocks_.end()) return nullptr;
    PoolBlock* b = it->second;
    if (b->refs.load(std::memory_order_acquire) <= 0) return nullptr;  // back in the cache
    if (extra != 0) b->refs.fetch_add(extra, std::memory_order_relaxed);
    return b;
  }

 private:
  std::mutex mu_;
  std::unordered_map<const void*, PoolBlock*> blocks_;
};

// Never destroyed: buffers may be released from static destructors after main returns.
BlockRegistry& block_registry() {
  static auto* registry = new BlockRegistry();
  return *registry;
}

class PoolCore {
 public:
  PoolCore(const PoolConfig& config, std::vector<size_t> classes)
      : config_(config), classes_(std::move(classes)), free_(classes_.size(), nullptr) {
    if (config_.allocator == nullptr && config_.hooks.alloc != nullptr &&
        config_.hooks.free != nullptr) {
      hook_allocator_ = std::make_unique<HookAllocator>(config_.hooks);
      config_.allocator = hook_allocator_.get();
    }
    if (config_.allocator == nullptr) config_.allocator = default_allocator();
    header_ = (sizeof(PoolBlock) + config_.alignment - 1) / config_.alignment * config_.alignment;
    stats_.capacity_bytes = config_.capacity_bytes;
  }

  const PoolConfig& config() const { return config_; }

  int class_for(size_t bytes) const {
    for (size_t i = 0; i < classes_.size(); ++i) {
      if (classes_[i] >= bytes) return static_cast<int>(i);
    }
    return -1;
  }

  Result<PoolBuffer> acquire(size_t bytes) {
    if (bytes == 0) return invalid_argument("pool '" + config_.name + "': request of 0 bytes");
    const int cls = class_for(bytes);
    if (cls < 0) {
      Guard g(this);
      ++stats_.failed;
      return Status(StatusCode::kPoolExhausted, "pool '" + config_.name + "': request of " +
                                                    std::to_string(bytes) +
                                                    " bytes is larger than its largest block of " +
                                                    std::to_string(config_.max_block) + " bytes");
    }
    Guard g(this);
    PoolBlock* b = free_[cls];
    if (b != nullptr) {
      free_[cls] = b->next;
      ++stats_.hits;
    } else {
      Result<PoolBlock*> fresh = allocate_locked(cls);
      if (!fresh.is_ok()) {
        ++stats_.failed;
        return fresh.status();
      }
      b = fresh.value();
      ++stats_.misses;
    }
    b->next = nullptr;
    b->size = bytes;
    b->refs.store(1, std::memory_order_relaxed);
    stats_.in_use_bytes += classes_[cls];
    ++stats_.in_use_buffers;
    if (stats_.in_use_bytes > stats_.high_water_bytes) {
      stats_.high_water_bytes = stats_.in_use_bytes;
    }
    refs_.fetch_add(1, std::memory_order_relaxed);
    return PoolBuffer(b);
  }

  Status reserve(size_t bytes, size_t count) {
    const int cls = class_for(bytes);
    if (bytes == 0 || cls < 0) {
      return Status(StatusCode::kPoolExhausted, "pool '" + config_.name + "': cannot reserve " +
                                                    std::to_string(bytes) + "-byte blocks");
    }
    Guard g(this);
    for (size_t i = 0; i < count; ++i) {
      Result<PoolBlock*> fresh = allocate_locked(cls);
      if (!fresh.is_ok()) return fresh.status();
      fresh.value()->next = free_[cls];
      free_[cls] = fresh.value();
    }
    return Status::ok();
  }

  // Called by the last PoolBuffer reference.
  void release(PoolBlock* b) noexcept {
    {
      Guard g(this);
      stats_.in_use_bytes -= classes_[b->size_class];
      --stats_.in_use_buffers;
      if (closed_) {
        free_block_locked(b);
      } else {
        b->next = free_[b->size_class];
        free_[b->size_class] = b;
      }
    }
    unref();
  }

  void trim() {
    Guard g(this);
    trim_locked(-1, SIZE_MAX);
  }

  // The owning Pool is gone: cached blocks are freed now, outstanding ones on release.
  void close() noexcept {
    size_t out = 0;
    {
      Guard g(this);
      closed_ = true;
      trim_locked(-1, SIZE_MAX);
      out = stats_.in_use_buffers;
    }
    if (out > 0) {
      log_warn("pool '" + config_.name + "' destroyed with " + std::to_string(out) +
               " buffer(s) still out; their memory is freed when they are released");
    }
    unref();
  }

  PoolStats stats() const {
    Guard g(this);
    return stats_;
  }

  size_t class_bytes(int cls) const { return classes_[cls]; }

 private:
  class Guard {
   public:
    explicit Guard(const PoolCore* core) : core_(core) {
      if (core_->config_.thread_safe) core_->mu_.lock();
    }
    ~Guard() {
      if (core_->config_.thread_safe) core_->mu_.unlock();
    }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    const PoolCore* core_;
  };

  Result<PoolBlock*> allocate_locked(int cls) {
    const size_t need = classes_[cls];
    if (stats_.reserved_bytes + need > config_.capacity_bytes) {
      // Give back cached blocks of other classes before refusing.
      trim_locked(cls, need);
    }
    if (stats_.reserved_bytes + need > config_.capacity_bytes) {
      return Status(StatusCode::kPoolExhausted,
                    "pool '" + config_.name +
                        "' exhausted: " + std::to_string(stats_.in_use_buffers) +
                        " buffer(s) hold " + std::to_string(stats_.in_use_bytes) + " of " +
                        std::to_string(config_.capacity_bytes) + " bytes, request needs " +
                        std::to_string(need));
    }
    void* mem = config_.allocator->allocate(header_ + need, config_.alignment);
    if (mem == nullptr) {
      return Status(StatusCode::kOutOfMemory, "pool '" + config_.name + "': allocator failed for " +
                                                  std::to_string(header_ + need) + " bytes");
    }
    auto* b = new (mem) PoolBlock();
    b->core = this;
    b->size_class = cls;
    b->data = static_cast<unsigned char*>(mem) + header_;
    if (!block_registry().add(b)) {
      b->~PoolBlock();
      config_.allocator->deallocate(mem, header_ + need, config_.alignment);
      return Status(StatusCode::kOutOfMemory,
                    "pool '" + config_.name + "': out of memory registering a block");
    }
    stats_.reserved_bytes += need;
    return b;
  }

  void free_block_locked(PoolBlock* b) noexcept {
    const size_t need = classes_[b->size_class];
    stats_.reserved_bytes -= need;
    block_registry().remove(b);
    b->~PoolBlock();
    config_.allocator->deallocate(b, header_ + need, config_.alignment);
  }

  // Frees cached blocks of every class except `keep` (-1: none kept) until `need` more bytes
  // fit under the capacity (SIZE_MAX: free them all).
  void trim_locked(int keep, size_t need) noexcept {
    for (int c = static_cast<int>(classes_.size()) - 1; c >= 0; --c) {
      if (c == keep) continue;
      while (free_[c] != nullptr) {
        if (need != SIZE_MAX && stats_.reserved_bytes + need <= config_.capacity_bytes) return;
        PoolBlock* b = free_[c];
        free_[c] = b->next;
        free_block_locked(b);
      }
    }
  }

  void unref() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  PoolConfig config_;
  std::unique_ptr<HookAllocator> hook_allocator_;  // when built from C hooks
  std::vector<size_t> classes_;
  std::vector<PoolBlock*> free_;
  size_t header_ = 0;
  mutable std::mutex mu_;
  PoolStats stats_;
  bool closed_ = false;
  std::atomic<int> refs_{1};  // the Pool plus one per outstanding buffer
};

}  // namespace detail

// ---- PoolBuffer -------------------------------------------------------------------------

PoolBuffer::PoolBuffer(const PoolBuffer& other) noexcept : block_(other.block_) {
  if (block_) block_->refs.fetch_add(1, std::memory_order_relaxed);
}

PoolBuffer& PoolBuffer::operator=(const PoolBuffer& other) noexcept {
  if (this != &other) {
    if (other.block_) other.block_->refs.fetch_add(1, std::memory_order_relaxed);
    reset();
    block_ = other.block_;
  }
  return *this;
}

PoolBuffer& PoolBuffer::operator=(PoolBuffer&& other) noexcept {
  if (this != &other) {
    reset();
    block_ = other.block_;
    other.block_ = nullptr;
  }
  return *this;
}

void* PoolBuffer::data() const { return block_ ? block_->data : nullptr; }
size_t PoolBuffer::size() const { return block_ ? block_->size : 0; }
size_t PoolBuffer::capacity() const {
  return block_ ? block_->core->class_bytes(block_->size_class) : 0;
}
int PoolBuffer::use_count() const {
  return block_ ? block_->refs.load(std::memory_order_relaxed) : 0;
}

void PoolBuffer::reset() noexcept {
  detail::PoolBlock* b = block_;
  block_ = nullptr;
  if (b && b->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) b->core->release(b);
}

void* PoolBuffer::detach() noexcept {
  detail::PoolBlock* b = block_;
  block_ = nullptr;
  return b ? b->data : nullptr;
}

PoolBuffer PoolBuffer::attach(void* data) noexcept {
  if (data == nullptr) return PoolBuffer();
  return PoolBuffer(detail::block_registry().find_out(data, 0));
}

PoolBuffer PoolBuffer::share(void* data) noexcept {
  if (data == nullptr) return PoolBuffer();
  return PoolBuffer(detail::block_registry().find_out(data, 1));
}

// ---- Pool -------------------------------------------------------------------------------

Result<std::unique_ptr<Pool>> Pool::create(const PoolConfig& config) {
  const std::string who = "pool '" + config.name + "': ";
  if (config.min_block == 0) return invalid_argument(who + "min_block must be positive");
  if (config.max_block < config.min_block) {
    return invalid_argument(who + "max_block " + std::to_string(config.max_block) +
                            " is smaller than min_block " + std::to_string(config.min_block));
  }
  if (config.max_block > kMaxPoolBlockBytes) {
    return invalid_argument(who + "max_block " + std::to_string(config.max_block) +
                            " is over the limit of " + std::to_string(kMaxPoolBlockBytes));
  }
  if (config.alignment < alignof(void*) || (config.alignment & (config.alignment - 1)) != 0 ||
      config.alignment > kMaxPoolAlignment) {
    return invalid_argument(who + "alignment " + std::to_string(config.alignment) +
                            " is not a power of two in " + std::to_string(alignof(void*)) + ".." +
                            std::to_string(kMaxPoolAlignment));
  }
  if ((config.hooks.alloc == nullptr) != (config.hooks.free == nullptr)) {
    return invalid_argument(who + "allocator hooks need both alloc and free");
  }
  if (config.capacity_bytes < config.min_block) {
    return invalid_argument(who + "capacity_bytes " + std::to_string(config.capacity_bytes) +
                            " cannot hold one block of " + std::to_string(config.min_block) +
                            " bytes");
  }
  if (config.capacity_bytes < config.max_block) {
    return invalid_argument(who + "capacity_bytes " + std::to_string(config.capacity_bytes) +
                            " cannot hold one block of max_block " +
                            std::to_string(config.max_block) + " bytes");
  }
  // max_block <= kMaxPoolBlockBytes, so the doubling below cannot wrap (at most 49 classes).
  std::vector<size_t> classes;
  for (size_t s = config.min_block; s < config.max_block; s *= 2) classes.push_back(s);
  classes.push_back(config.max_block);
  auto* core = new (std::nothrow) detail::PoolCore(config, std::move(classes));
  if (core == nullptr) return Status(StatusCode::kOutOfMemory, who + "out of memory");
  return std::unique_ptr<Pool>(new Pool(core));
}

Result<std::unique_ptr<Pool>> Pool::create_block_pool(const std::string& name, size_t block_size,
                                                      size_t max_blocks, bool thread_safe,
                                                      Allocator* allocator) {
  if (max_blocks == 0) return invalid_argument("pool '" + name + "': max_blocks must be positive");
  if (block_size != 0 && max_blocks > SIZE_MAX / block_size) {
    return invalid_argument("pool '" + name + "': block_size * max_blocks overflows");
  }
  PoolConfig c;
  c.name = name;
  c.min_block = c.max_block = block_size;
  c.capacity_bytes = block_size * max_blocks;
  c.thread_safe = thread_safe;
  c.allocator = allocator;
  return create(c);
}

Pool::~Pool() { core_->close(); }

Result<PoolBuffer> Pool::acquire(size_t bytes) { return core_->acquire(bytes); }
Status Pool::reserve(size_t bytes, size_t count) { return core_->reserve(bytes, count); }
void Pool::trim() { core_->trim(); }
PoolStats Pool::stats() const { return core_->stats(); }
const std::string& Pool::name() const { return core_->config().name; }

Status Pool::check_idle() const {
  const size_t out = outstanding();
  if (out == 0) return Status::ok();
  return runtime_error("pool '" + name() + "': " + std::to_string(out) +
                       " buffer(s) are still out");
}

}  // namespace vas
