// FixedBytes<Derived, N>: the base of every fixed-size id (Hash, PublicKey, Signature, Topic, LogId).
// Each id is its own type, so a LogId can never be passed where a Topic is expected. Values are
// ordered byte-lexicographically, which is also the order p2panda's BTreeMaps use on the wire.
// Plain values: any thread.
#pragma once

#include <algorithm>
#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>

#include <p2panda/encoding.hpp>
#include <p2panda/result.hpp>

namespace p2panda {

template <class Derived, std::size_t N>
class FixedBytes {
 public:
  static constexpr std::size_t kSize = N;

  constexpr FixedBytes() = default;  // all zero bytes
  explicit constexpr FixedBytes(const std::array<std::uint8_t, N>& bytes) : bytes_(bytes) {}

  // Errors: InvalidLength when bytes.size() != N.
  static Result<Derived> from_bytes(ByteSpan bytes) {
    if (bytes.size() != N) {
      return fail(Errc::InvalidLength, "expected " + std::to_string(N) + " bytes, got " +
                                           std::to_string(bytes.size()));
    }
    std::array<std::uint8_t, N> array{};
    std::copy(bytes.begin(), bytes.end(), array.begin());
    return Derived(array);
  }

  // Errors: InvalidHex, InvalidLength.
  static Result<Derived> from_hex(std::string_view text) {
    auto bytes = p2panda::from_hex(text);
    if (!bytes) return Unexpected{std::move(bytes).error()};
    return from_bytes(*bytes);
  }

  const std::array<std::uint8_t, N>& array() const { return bytes_; }
  ByteSpan bytes() const { return {bytes_.data(), N}; }
  const std::uint8_t* data() const { return bytes_.data(); }
  static constexpr std::size_t size() { return N; }

  std::string to_hex() const { return p2panda::to_hex(bytes()); }
  std::string to_base32() const { return p2panda::to_base32(bytes()); }

  friend bool operator==(const FixedBytes&, const FixedBytes&) = default;
  friend auto operator<=>(const FixedBytes&, const FixedBytes&) = default;

 protected:
  std::array<std::uint8_t, N> bytes_{};
};

// Hash functor for unordered containers. The ids are uniformly random, so the first word suffices.
struct FixedBytesHash {
  template <class Derived, std::size_t N>
  std::size_t operator()(const FixedBytes<Derived, N>& value) const {
    static_assert(N >= sizeof(std::size_t));
    std::size_t word;
    std::memcpy(&word, value.data(), sizeof word);
    return word;
  }
};

}  // namespace p2panda
