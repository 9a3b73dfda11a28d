// Early-return helpers for Result<T>, internal to the library.
//
//   P2PANDA_TRY(value, expr);   // expr is a Result<T>: on error return it, else `auto value`
//   P2PANDA_CHECK(expr);        // expr is any Result: on error return it
#pragma once

#include <p2panda/result.hpp>

#define P2PANDA_CONCAT_INNER(a, b) a##b
#define P2PANDA_CONCAT(a, b) P2PANDA_CONCAT_INNER(a, b)

#define P2PANDA_TRY(name, expr)                                                   \
  auto P2PANDA_CONCAT(p2panda_try_, __LINE__) = (expr);                           \
  if (!P2PANDA_CONCAT(p2panda_try_, __LINE__)) {                                  \
    return ::p2panda::Unexpected{std::move(P2PANDA_CONCAT(p2panda_try_, __LINE__)).error()}; \
  }                                                                               \
  auto name = std::move(*P2PANDA_CONCAT(p2panda_try_, __LINE__))

#define P2PANDA_CHECK(expr)                                          \
  do {                                                               \
    auto p2panda_check_ = (expr);                                    \
    if (!p2panda_check_) {                                           \
      return ::p2panda::Unexpected{std::move(p2panda_check_).error()}; \
    }                                                                \
  } while (0)
