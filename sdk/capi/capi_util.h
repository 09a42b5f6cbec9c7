// Helpers shared by the extern "C" files in sdk/capi: the thread-local error message, the
// exception guard, argument checks and struct_size handling.
#pragma once

#include <vasdk/vasdk.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <utility>

#include "core/image.h"
#include "core/status.h"

namespace vas_capi {

// One message per thread, shared by every C API file (inline: a single definition).
inline thread_local std::string g_last_error;

inline vas_status_t fail(vas_status_t code, std::string message) {
  g_last_error = std::move(message);
  return code;
}

inline vas_status_t fail(const vas::Status& st) {
  return fail(static_cast<vas_status_t>(st.code()), st.message());
}

// Runs body, converting any exception into a status: nothing C++ crosses the boundary.
template <typename Body>
vas_status_t guarded(const char* fn, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(VAS_ERR_OUT_OF_MEMORY, std::string(fn) + ": out of memory");
  } catch (const std::exception& e) {
    return fail(VAS_ERR_INTERNAL, std::string(fn) + ": " + e.what());
  } catch (...) {
    return fail(VAS_ERR_INTERNAL, std::string(fn) + ": unknown exception");
  }
}

#define VAS_CHECK_ARG(cond, fn, what)                                                    \
  do {                                                                                   \
    if (!(cond)) return fail(VAS_ERR_INVALID_ARGUMENT, std::string(fn) + ": " + (what)); \
  } while (0)

// Copies a caller struct of possibly older/newer size: reads min(struct_size, sizeof(T)),
// zero-fills the rest. min_size is the size of the struct's first public version.
template <typename T>
bool read_versioned(const T* in, size_t min_size, T* out) {
  if (in->struct_size < min_size) return false;
  std::memset(out, 0, sizeof(T));
  std::memcpy(out, in, std::min<size_t>(in->struct_size, sizeof(T)));
  return true;
}

template <typename T>
void write_versioned(const T& src, T* dst) {
  const uint32_t size = dst->struct_size;
  std::memcpy(dst, &src, std::min<size_t>(size, sizeof(T)));
  dst->struct_size = size;
}

inline std::string struct_size_message(const char* fn, const char* type, uint32_t got, size_t min) {
  return std::string(fn) + ": " + type + ".struct_size is " + std::to_string(got) +
         ", smaller than the minimum " + std::to_string(min) + " (use the *_init function)";
}

// Reads a caller's vas_image_t (any struct_size from the first version on) into a validated
// ImageView; the message names the entry point and the bad field.
inline vas_status_t to_image_view(const char* fn, const vas_image_t* image, vas::ImageView* view) {
  VAS_CHECK_ARG(image != nullptr, fn, "image is NULL");
  vas_image_t img;
  if (!read_versioned(image, sizeof(vas_image_t), &img)) {
    return fail(VAS_ERR_INVALID_ARGUMENT,
                struct_size_message(fn, "vas_image_t", image->struct_size, sizeof(vas_image_t)));
  }
  vas::ImageView v;
  v.format = static_cast<vas::PixelFormat>(img.format);
  v.width = img.width;
  v.height = img.height;
  for (int p = 0; p < 3; ++p) {
    v.planes[p] = img.planes[p];
    v.strides[p] = img.strides[p];
  }
  vas::Status st = v.validate();
  if (!st.is_ok()) return fail(st.with_context(fn));
  *view = v;
  return VAS_OK;
}

}  // namespace vas_capi
