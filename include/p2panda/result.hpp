// Result<T>: a value or an Error, with std::expected's member names (g++ 12 has no std::expected
// under C++20). Construct failures with p2panda::fail(code, message) or Unexpected{error}.
//
// value(), operator* and operator-> REQUIRE has_value(); error() REQUIRES !has_value(). Breaking a
// REQUIRES is a programming error and aborts, so check first. Plain values: thread-compatible.
#pragma once

#include <cstdlib>
#include <optional>
#include <utility>
#include <variant>

#include <p2panda/error.hpp>

namespace p2panda {

struct Unexpected {
  Error error;
};

inline Unexpected fail(Errc code, std::string message) {
  return Unexpected{Error(code, std::move(message))};
}

namespace detail {
[[noreturn]] void bad_result_access(const char* what);
}

template <class T>
class [[nodiscard]] Result {
 public:
  using value_type = T;

  Result(const T& value) : state_(std::in_place_index<0>, value) {}
  Result(T&& value) : state_(std::in_place_index<0>, std::move(value)) {}
  Result(Unexpected unexpected) : state_(std::in_place_index<1>, std::move(unexpected.error)) {}
  template <class U>
    requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, T> &&
             !std::is_same_v<std::decay_t<U>, Unexpected> && !std::is_same_v<std::decay_t<U>, Result>)
  Result(U&& value) : state_(std::in_place_index<0>, std::forward<U>(value)) {}

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return checked(); }
  const T& value() const& { return const_cast<Result*>(this)->checked(); }
  T&& value() && { return std::move(checked()); }
  T& operator*() & { return checked(); }
  const T& operator*() const& { return const_cast<Result*>(this)->checked(); }
  T&& operator*() && { return std::move(checked()); }
  T* operator->() { return &checked(); }
  const T* operator->() const { return &const_cast<Result*>(this)->checked(); }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(state_) : static_cast<T>(std::forward<U>(fallback));
  }

  const Error& error() const& {
    if (has_value()) detail::bad_result_access("error() on a Result holding a value");
    return std::get<1>(state_);
  }
  Error&& error() && {
    if (has_value()) detail::bad_result_access("error() on a Result holding a value");
    return std::move(std::get<1>(state_));
  }

 private:
  T& checked() {
    if (!has_value()) detail::bad_result_access(std::get<1>(state_).to_string().c_str());
    return std::get<0>(state_);
  }

  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  using value_type = void;

  Result() = default;
  Result(Unexpected unexpected) : error_(std::move(unexpected.error)) {}

  bool has_value() const { return !error_.has_value(); }
  explicit operator bool() const { return has_value(); }
  void value() const {
    if (error_) detail::bad_result_access(error_->to_string().c_str());
  }
  const Error& error() const& {
    if (!error_) detail::bad_result_access("error() on a successful Result<void>");
    return *error_;
  }
  Error&& error() && {
    if (!error_) detail::bad_result_access("error() on a successful Result<void>");
    return std::move(*error_);
  }

 private:
  std::optional<Error> error_;
};

}  // namespace p2panda
