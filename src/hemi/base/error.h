// Error handling for hemi (see docs/architecture.md, "Three kinds of failure"):
//  - bad input at a boundary (files, parameters, requests) -> hemi::Error with a clear message,
//    or a Result<T> from factories that refuse;
//  - misuse of valid objects (level or scale mismatch, missing key) -> hemi::Error as well,
//    naming the operation and the values;
//  - broken internal invariants -> HEMI_ASSERT aborts with file:line.
//
// Whose fault is it? hemi::Error says only "something went wrong, here is why". Two subclasses
// say whose fault: InputError (the caller's input: a request, a file, a flag, an option) and
// InternalError (hemi's own: a broken promise between layers, a resource the caller cannot fix).
// Catch sites that must answer truthfully (the service: 4xx or 500) catch those first; a plain
// Error is classified by the catch site from the stage it came from (service/server.h).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace hemi {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// The caller's input is wrong (a request body, a file, a flag): fixing it is the caller's job.
class InputError : public Error {
 public:
  using Error::Error;
};

// hemi itself failed (an invariant between layers, a resource): not the caller's fault.
class InternalError : public Error {
 public:
  using Error::Error;
};

// A value or the reason there is none. Used by factories that validate input, so that no
// half-valid object ever exists.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  static Result failure(std::string reason) { return Result(std::move(reason), 0); }

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  const std::string& error() const { return error_; }

  // Returns the value, or throws hemi::InputError with the reason (factories validate input).
  T& value() & {
    if (!value_) throw InputError(error_);
    return *value_;
  }
  const T& value() const& {
    if (!value_) throw InputError(error_);
    return *value_;
  }
  T&& value() && {
    if (!value_) throw InputError(error_);
    return std::move(*value_);
  }

 private:
  Result(std::string reason, int) : error_(std::move(reason)) {}
  std::optional<T> value_;
  std::string error_;
};

[[noreturn]] inline void assert_fail(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "hemi: internal invariant broken: %s at %s:%d\n", expr, file, line);
  std::abort();
}

}  // namespace hemi

// Internal invariants: always on, abort with file:line.
#define HEMI_ASSERT(expr) \
  ((expr) ? (void)0 : ::hemi::assert_fail(#expr, __FILE__, __LINE__))

// Hot-path preconditions on internal data: checked in debug builds only.
#ifdef NDEBUG
#define HEMI_DCHECK(expr) ((void)0)
#else
#define HEMI_DCHECK(expr) HEMI_ASSERT(expr)
#endif
