// Result<T>: the value-or-error return type for every failure the runtime must survive (bad input, I/O,
// a tool that fails, a model that cannot load). Bugs are not Results: they abort through ALLTOOLS_CHECK.
// Exceptions from third-party code are caught at the adapter and turned into a Result; none crosses a
// module boundary.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "common/check.h"

namespace alltools {

enum class ErrorCode : std::uint8_t {
  kInvalidArgument,    // the caller's input is malformed (bad flag, bad JSON, wrong shape)
  kNotFound,           // a named file, tensor, tool or id does not exist
  kIo,                 // reading or writing failed (with errno text in the message)
  kParse,              // a file or stream does not follow its format
  kUnsupported,        // well-formed, but not something this build handles (dtype, model_type)
  kOutOfRange,         // a size, index or length beyond a limit
  kTimeout,            // a deadline passed
  kCancelled,          // cancelled by the user or the caller
  kDenied,             // a policy said no (SSRF guard, tool deny, sandbox rule)
  kUnavailable,        // a service or layer is not reachable / not present on this machine
  kResourceExhausted,  // memory, process or output caps hit
  kInternal,           // a failure in a dependency that is not the caller's fault
};

std::string_view error_code_name(ErrorCode code);

// An error is a code plus a message that a person (or the model) can act on: it names the file, the
// tensor, the argument — whatever is wrong — and says why.
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // Prepends context: Error{kIo,"short read"}.context("shard 2") -> "shard 2: short read".
  Error context(std::string_view what) const& {
    return Error{code, std::string(what) + ": " + message};
  }
  friend bool operator==(const Error&, const Error&) = default;
};

inline std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kIo: return "io";
    case ErrorCode::kParse: return "parse";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kOutOfRange: return "out_of_range";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kDenied: return "denied";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kResourceExhausted: return "resource_exhausted";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

inline std::ostream& operator<<(std::ostream& os, const Error& e) {
  return os << error_code_name(e.code) << ": " << e.message;
}

inline Error make_error(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

// Result<T> holds a T or an Error. Accessing the wrong alternative is a bug (CHECK fails).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    ALLTOOLS_CHECK_MSG(ok(), "Result::value() on an error");
    return std::get<0>(v_);
  }
  const T& value() const& {
    ALLTOOLS_CHECK_MSG(ok(), "Result::value() on an error");
    return std::get<0>(v_);
  }
  T&& value() && {
    ALLTOOLS_CHECK_MSG(ok(), "Result::value() on an error");
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    ALLTOOLS_CHECK_MSG(!ok(), "Result::error() on a value");
    return std::get<1>(v_);
  }
  T value_or(T fallback) const& { return ok() ? std::get<0>(v_) : std::move(fallback); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    ALLTOOLS_CHECK_MSG(!ok_, "Result::error() on a value");
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok_status() { return Status(); }

}  // namespace alltools

// Propagates an error from an expression returning Result<...>/Status.
#define ALLTOOLS_RETURN_IF_ERROR(expr)                  \
  do {                                                  \
    auto alltools_status_ = (expr);                     \
    if (!alltools_status_.ok()) return alltools_status_.error(); \
  } while (0)

#define ALLTOOLS_CONCAT_INNER_(a, b) a##b
#define ALLTOOLS_CONCAT_(a, b) ALLTOOLS_CONCAT_INNER_(a, b)

// ALLTOOLS_ASSIGN_OR_RETURN(auto x, expr): binds the value of a Result or returns its error.
#define ALLTOOLS_ASSIGN_OR_RETURN(lhs, expr)                                     \
  auto ALLTOOLS_CONCAT_(alltools_result_, __LINE__) = (expr);                    \
  if (!ALLTOOLS_CONCAT_(alltools_result_, __LINE__).ok())                        \
    return ALLTOOLS_CONCAT_(alltools_result_, __LINE__).error();                 \
  lhs = std::move(ALLTOOLS_CONCAT_(alltools_result_, __LINE__)).value()
