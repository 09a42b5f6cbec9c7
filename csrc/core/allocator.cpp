#include "core/allocator.h"

#include <cstdint>
#include <new>

namespace vas {
namespace {

class NewAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes, size_t alignment) noexcept override {
    return ::operator new(bytes, std::align_val_t(alignment), std::nothrow);
  }
  void deallocate(void* p, size_t /*bytes*/, size_t alignment) noexcept override {
    ::operator delete(p, std::align_val_t(alignment));
  }
};

}  // namespace

Allocator* default_allocator() {
  static NewAllocator instance;
  return &instance;
}

void* HookAllocator::allocate(size_t bytes, size_t alignment) noexcept {
  if (hooks_.alloc == nullptr) return nullptr;
  void* p = hooks_.alloc(bytes, alignment, hooks_.user);
  // A hook that ignores the alignment would break vector kernels; treat it as a failure.
  if (p != nullptr && reinterpret_cast<uintptr_t>(p) % alignment != 0) {
    if (hooks_.free) hooks_.free(p, bytes, hooks_.user);
    return nullptr;
  }
  return p;
}

void HookAllocator::deallocate(void* p, size_t bytes, size_t /*alignment*/) noexcept {
  if (p != nullptr && hooks_.free != nullptr) hooks_.free(p, bytes, hooks_.user);
}

}  // namespace vas
