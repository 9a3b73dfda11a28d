// Text forms of byte strings: lowercase hex, and RFC 4648 base32 (lowercase, no padding), the form
// iroh uses for endpoint ids in DNS and mDNS names. Pure functions, any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <p2panda/result.hpp>

namespace p2panda {

using Bytes = std::vector<std::uint8_t>;
using ByteSpan = std::span<const std::uint8_t>;

std::string to_hex(ByteSpan bytes);

// Accepts upper- and lowercase digits. Errors: InvalidHex (odd length or a non-hex character, with
// its position).
Result<Bytes> from_hex(std::string_view text);

std::string to_base32(ByteSpan bytes);

// Accepts lowercase or uppercase, no padding. Errors: InvalidBase32 (bad character, impossible
// length, or non-zero trailing bits, which would make two texts decode to the same bytes).
Result<Bytes> from_base32(std::string_view text);

inline ByteSpan as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

}  // namespace p2panda
