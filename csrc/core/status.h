// Status and Result<T>: the error currency of the C++ core.
// A Status carries a code (mirrors vas_status_t in the C header) and a message that names the
// object and the cause. Exceptions never leave the core's public functions; sdk/capi turns
// Status into vas_status_t plus the thread-local message.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace vas {

// Values equal the C header's VAS_* codes; both are pinned forever.
enum class StatusCode : int {
  kOk = 0,
  kEndOfStream = 1,
  kInvalidArgument = -1,
  kNotFound = -2,
  kIoError = -3,
  kUnsupported = -4,
  kInvalidModel = -5,
  kBackendUnavailable = -6,
  kRuntimeError = -7,
  kOutOfMemory = -8,
  kInvalidConfig = -9,
  kTimeout = -10,
  kPoolExhausted = -11,
  kInternal = -12,
  kCancelled = -13,  // interrupted on request (e.g. a source stopped from another thread)
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  // Messages over kMaxMessageBytes are cut (at a UTF-8 boundary, saying how much went): a
  // message may quote input, and no input is echoed whole, however a call site quotes it.
  Status(StatusCode code, std::string message)
      : code_(code), message_(bounded_message(std::move(message))) {}
  static constexpr size_t kMaxMessageBytes = 1024;

  static Status ok() { return {}; }
  bool is_ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with context, e.g. the model or channel name.
  Status with_context(const std::string& context) const {
    return is_ok() ? *this : Status(code_, context + ": " + message_);
  }

 private:
  static std::string bounded_message(std::string m);

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status io_error(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
inline Status invalid_model(std::string m) { return {StatusCode::kInvalidModel, std::move(m)}; }
inline Status invalid_config(std::string m) { return {StatusCode::kInvalidConfig, std::move(m)}; }
inline Status runtime_error(std::string m) { return {StatusCode::kRuntimeError, std::move(m)}; }
inline Status internal_error(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!status_.is_ok() && "Result needs a value or an error");
    if (status_.is_ok()) status_ = internal_error("Result built from an OK status without a value");
  }

  bool is_ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace vas

#define VAS_RETURN_IF_ERROR(expr)                 \
  do {                                            \
    ::vas::Status vas_status_ = (expr);           \
    if (!vas_status_.is_ok()) return vas_status_; \
  } while (0)

#define VAS_CONCAT_INNER_(a, b) a##b
#define VAS_CONCAT_(a, b) VAS_CONCAT_INNER_(a, b)
// tmp and lhs are a declared name and an assignment target, so they cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define VAS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.is_ok()) return tmp.status();           \
  lhs = std::move(tmp).value()
#define VAS_ASSIGN_OR_RETURN(lhs, expr) \
  VAS_ASSIGN_OR_RETURN_IMPL_(VAS_CONCAT_(vas_result_, __LINE__), lhs, expr)
// NOLINTEND(bugprone-macro-parentheses)
