// SPDX-License-Identifier: MIT
// Status and StatusOr<T>: how the library reports bad external input (files, JSON, requests).
// Layer: base. The library never throws for bad input and never exits; it returns a Status whose
// message names the file, tensor or field at fault.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "base/check.h"

namespace mamba {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // malformed input: bad JSON, wrong shape, unknown dtype, bad flag
  kNotFound,         // missing file, tensor or key
  kDataLoss,         // truncated or corrupt file
  kUnimplemented,    // valid input that asks for something we do not support
  kIoError,          // the OS refused (open, mmap, read)
  kOutOfRange,       // an index/offset outside its container
  kInternal,
};

std::string_view StatusCodeName(StatusCode code);

// A value type: an OK status carries no message. Cheap to copy when OK.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "INVALID_ARGUMENT: <message>", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is "<prefix>: <message>"; OK stays OK.
  Status WithPrefix(std::string_view prefix) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgumentError(std::string msg) {
  return Status(StatusCode::kInvalidArgument, std::move(msg));
}
inline Status NotFoundError(std::string msg) {
  return Status(StatusCode::kNotFound, std::move(msg));
}
inline Status DataLossError(std::string msg) {
  return Status(StatusCode::kDataLoss, std::move(msg));
}
inline Status UnimplementedError(std::string msg) {
  return Status(StatusCode::kUnimplemented, std::move(msg));
}
inline Status IoError(std::string msg) { return Status(StatusCode::kIoError, std::move(msg)); }
inline Status OutOfRangeError(std::string msg) {
  return Status(StatusCode::kOutOfRange, std::move(msg));
}
inline Status InternalError(std::string msg) {
  return Status(StatusCode::kInternal, std::move(msg));
}

// Holds either a T or a non-OK Status. Accessing value() of an error is an invariant violation.
template <class T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const T& value) : v_(value) {}        // NOLINT: implicit by design, like absl::StatusOr
  StatusOr(T&& value) : v_(std::move(value)) {}  // NOLINT
  StatusOr(Status status) : v_(std::move(status)) {  // NOLINT
    MAMBA_CHECK(!std::get<Status>(v_).ok(), "StatusOr constructed from an OK Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

  T& value() & {
    MAMBA_CHECK(ok(), "StatusOr::value() on error: %s", std::get<Status>(v_).ToString().c_str());
    return std::get<T>(v_);
  }
  const T& value() const& {
    MAMBA_CHECK(ok(), "StatusOr::value() on error: %s", std::get<Status>(v_).ToString().c_str());
    return std::get<T>(v_);
  }
  T&& value() && {
    MAMBA_CHECK(ok(), "StatusOr::value() on error: %s", std::get<Status>(v_).ToString().c_str());
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace mamba

#define MAMBA_STATUS_CONCAT_INNER(a, b) a##b
#define MAMBA_STATUS_CONCAT(a, b) MAMBA_STATUS_CONCAT_INNER(a, b)

// Evaluates `expr` (a Status); returns it from the enclosing function when not OK.
#define MAMBA_RETURN_IF_ERROR(expr)                        \
  do {                                                     \
    ::mamba::Status mamba_status_tmp_ = (expr);            \
    if (!mamba_status_tmp_.ok()) return mamba_status_tmp_; \
  } while (0)

// `lhs` = value of `expr` (a StatusOr); returns the error from the enclosing function otherwise.
#define MAMBA_ASSIGN_OR_RETURN(lhs, expr) \
  MAMBA_ASSIGN_OR_RETURN_IMPL(MAMBA_STATUS_CONCAT(mamba_statusor_, __LINE__), lhs, expr)
#define MAMBA_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
