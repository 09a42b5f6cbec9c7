// Tensor types shared by preprocessing, engines and decoders.
// TensorView borrows memory; Tensor owns a growable buffer that keeps its capacity, so a
// tensor reused across frames of a fixed shape allocates only on the first frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vas {

enum class DataType : int {
  kFloat32 = 1,
  kFloat16 = 2,
  kUInt8 = 3,
  kInt8 = 4,
  kInt32 = 5,
  kInt64 = 6
};

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

class Tensor {
 public:
  // Resizes in place; memory is only reallocated when the new size exceeds the capacity.
  void reshape(DataType dtype, const std::vector<int64_t>& shape) {
    dtype_ = dtype;
    shape_ = shape;
    const size_t bytes = static_cast<size_t>(element_count(shape)) * data_type_size(dtype);
    // 64-byte alignment for vector kernels: over-allocate and offset.
    if (bytes + 64 > storage_.size()) storage_.resize(bytes + 64);
    byte_size_ = bytes;
  }
  void* data() {
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
  DataType dtype_ = DataType::kFloat32;
  std::vector<int64_t> shape_;
  size_t byte_size_ = 0;
};

}  // namespace vas
