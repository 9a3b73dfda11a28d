// Helpers shared by the core tests.
#pragma once

#include <gtest/gtest.h>
#include <p2panda/keys.hpp>

#include <string_view>

namespace p2panda::test {

// Hex to bytes; spaces are ignored so vectors can be pasted as printed. Aborts on bad hex (a bug
// in the test, not in the code under test).
inline Bytes hex(std::string_view text) {
  std::string compact;
  for (char c : text) {
    if (c != ' ' && c != '\n') compact.push_back(c);
  }
  auto bytes = from_hex(compact);
  if (!bytes) {
    ADD_FAILURE() << "bad hex in test: " << bytes.error().to_string();
    return {};
  }
  return *bytes;
}

// The signing key of p2panda's header fixtures (vectors A4, B3-B6) and its public key.
constexpr std::string_view kSeed = "f47b55d7a1cc5ee3effd80a4e4a0c33112317d0432da9de6ae019ae7e78e16aa";
constexpr std::string_view kPublic =
    "e415c4190cc7f1647a592ebf8e5f905c2adef9948b175b2b5c11e14511b51620";

inline PrivateKey fixture_key() { return *PrivateKey::from_hex(kSeed); }

}  // namespace p2panda::test

#define ASSERT_OK(expr)                                                   \
  do {                                                                    \
    const auto& p2panda_result_ = (expr);                                 \
    ASSERT_TRUE(p2panda_result_.has_value()) << p2panda_result_.error().to_string(); \
  } while (0)

#define EXPECT_ERRC(expr, errc)                                            \
  do {                                                                     \
    const auto& p2panda_result_ = (expr);                                  \
    ASSERT_FALSE(p2panda_result_.has_value()) << "expected " #errc;        \
    EXPECT_EQ(p2panda_result_.error().code(), ::p2panda::Errc::errc)       \
        << p2panda_result_.error().to_string();                            \
  } while (0)
