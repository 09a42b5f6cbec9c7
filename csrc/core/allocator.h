// Allocator: where pools get their memory. The default one uses aligned operator new;
// HookAllocator forwards to caller-supplied C functions (vas_allocator_t in the C API).
// Pools call an allocator only on a miss, so after warm-up a steady workload never reaches it.
#pragma once

#include <cstddef>

namespace vas {

// Thread safety: implementations must be callable from any thread, because a locked pool
// may miss on any of the threads that share it.
class Allocator {
 public:
  virtual ~Allocator() = default;
  // Returns memory aligned to `alignment` (a power of two, >= alignof(void*)), or nullptr
  // when it cannot; never throws.
  virtual void* allocate(size_t bytes, size_t alignment) noexcept = 0;
  // Gives back memory from allocate(); bytes and alignment are the values passed there.
  virtual void deallocate(void* p, size_t bytes, size_t alignment) noexcept = 0;
};

// Process-wide allocator over aligned operator new. Never destroyed; stateless.
Allocator* default_allocator();

// Plain C callbacks: alloc(size, alignment, user) and free(ptr, size, user). Either may be
// called from any thread that uses the pool. `user` is passed through unchanged.
struct AllocatorHooks {
  void* (*alloc)(size_t size, size_t alignment, void* user) = nullptr;
  void (*free)(void* ptr, size_t size, void* user) = nullptr;
  void* user = nullptr;
};

// Allocator over AllocatorHooks. The hooks must stay valid until every buffer of every pool
// using this allocator has been released.
class HookAllocator final : public Allocator {
 public:
  explicit HookAllocator(const AllocatorHooks& hooks) : hooks_(hooks) {}
  void* allocate(size_t bytes, size_t alignment) noexcept override;
  void deallocate(void* p, size_t bytes, size_t alignment) noexcept override;

 private:
  AllocatorHooks hooks_;
};

}  // namespace vas
