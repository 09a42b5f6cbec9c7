// Checked reads of JSON values into C++ types. nlohmann's get<int>() / get<float>() convert
// out-of-range numbers (1e20 into an int, 1e300 into a float) with undefined behaviour; these
// return false instead, so config parsers can name the field.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <vector>

namespace vas {

template <typename T>
bool read_json(const nlohmann::json& v, T* out) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) return false;
    *out = v.get<bool>();
    return true;
  } else if constexpr (std::is_integral_v<T>) {
    if (v.is_number_unsigned()) {
      const auto u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) return false;
      *out = static_cast<T>(u);
      return true;
    }
    if (v.is_number_integer()) {
      const auto i = v.get<int64_t>();
      if (i < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          i > static_cast<int64_t>(std::numeric_limits<T>::max())) {
        return false;
      }
      *out = static_cast<T>(i);
      return true;
    }
    if (!v.is_number_float()) return false;
    const double d = v.get<double>();  // a whole number written as 2.0 is accepted
    if (!std::isfinite(d) || d != std::floor(d) ||
        d < static_cast<double>(std::numeric_limits<T>::min()) ||
        d > static_cast<double>(std::numeric_limits<T>::max())) {
      return false;
    }
    *out = static_cast<T>(d);
    return true;
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) return false;
    const double d = v.get<double>();
    if (!std::isfinite(d) || std::fabs(d) > static_cast<double>(std::numeric_limits<T>::max())) {
      return false;
    }
    *out = static_cast<T>(d);
    return true;
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) return false;
    *out = v.get<std::string>();
    return true;
  } else {  // std::vector<U>
    if (!v.is_array()) return false;
    T items;
    items.resize(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      if (!read_json(v[i], &items[i])) return false;
    }
    *out = std::move(items);
    return true;
  }
}

}  // namespace vas
