// Tensor types shared by preprocessing, engines and decoders.
// TensorView borrows memory; Tensor owns a growable buffer that keeps its capacity, so a
// tensor reused across frames of a fixed shape allocates only on the first frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/pool.h"
#include "core/status.h"

namespace vas {

enum class DataType : int {
  kFloat32 = 1,
  kFloat16 = 2,
  kUInt8 = 3,
  kInt8 = 4,
  kInt32 = 5,
  kInt64 = 6
};

// Memory order of a 4-D image tensor.
enum class Layout : int { kNCHW = 1, kNHWC = 2 };

size_t data_type_size(DataType dtype);
const char* data_type_name(DataType dtype);

// Product of the dims; dynamic dims (< 0) count as 0.
int64_t element_count(const std::vector<int64_t>& shape);
std::string shape_to_string(const std::vector<int64_t>& shape);

struct TensorView {
  void* data = nullptr;
  DataType dtype = DataType::kFloat32;
  std::vector<int64_t> shape;

  template <typename T>
  T* as() const {
    return static_cast<T*>(data);
  }
  size_t byte_size() const {
    return static_cast<size_t>(element_count(shape)) * data_type_size(dtype);
  }
};

// Owns its memory: either a growable heap buffer (reshape) or a pool block (reshape_from_pool).
// Not thread-safe; one owner at a time.
class Tensor {
 public:
  // Resizes in place; memory is only reallocated when the new size exceeds the capacity.
  void reshape(DataType dtype, const std::vector<int64_t>& shape) {
    pooled_.reset();
    dtype_ = dtype;
    shape_ = shape;
    const size_t bytes = static_cast<size_t>(element_count(shape)) * data_type_size(dtype);
    // 64-byte alignment for vector kernels: over-allocate and offset.
    if (bytes + 64 > storage_.size()) storage_.resize(bytes + 64);
    byte_size_ = bytes;
  }
  // Backs the tensor with a block of `pool`; keeps the current block when it is already large
  // enough, so a fixed-shape tensor acquires once. Errors come from Pool::acquire().
  Status reshape_from_pool(Pool& pool, DataType dtype, const std::vector<int64_t>& shape) {
    const size_t bytes = static_cast<size_t>(element_count(shape)) * data_type_size(dtype);
    if (!pooled_ || pooled_.capacity() < bytes) {
      pooled_.reset();
      Result<PoolBuffer> buf = pool.acquire(bytes == 0 ? 1 : bytes);
      if (!buf.is_ok()) return buf.status();
      pooled_ = std::move(buf).value();
      storage_.clear();
      storage_.shrink_to_fit();
    }
    dtype_ = dtype;
    shape_ = shape;
    byte_size_ = bytes;
    return Status::ok();
  }
  bool is_pooled() const { return static_cast<bool>(pooled_); }
  void* data() {
    if (pooled_) return pooled_.data();
    auto addr = reinterpret_cast<uintptr_t>(storage_.data());
    return storage_.data() + ((64 - addr % 64) % 64);
  }
  const void* data() const { return const_cast<Tensor*>(this)->data(); }
  template <typename T>
  T* as() {
    return static_cast<T*>(data());
  }
  template <typename T>
  const T* as() const {
    return static_cast<const T*>(data());
  }
  DataType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  size_t byte_size() const { return byte_size_; }
  TensorView view() { return {data(), dtype_, shape_}; }

 private:
  std::vector<uint8_t> storage_;
  PoolBuffer pooled_;
  DataType dtype_ = DataType::kFloat32;
  std::vector<int64_t> shape_;
  size_t byte_size_ = 0;
};

}  // namespace vas
