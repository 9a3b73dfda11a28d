// Hash: a 32-byte BLAKE3 digest (no multihash prefix), as p2panda uses for operation ids, payload
// hashes and log ids. Hasher is the incremental form. Pure values: any thread; a Hasher instance
// must not be shared between threads without synchronisation.
#pragma once

#include <array>
#include <cstdint>

#include <p2panda/fixed_bytes.hpp>

namespace p2panda {

class Hash : public FixedBytes<Hash, 32> {
 public:
  using FixedBytes::FixedBytes;

  // BLAKE3 of `bytes`.
  static Hash digest(ByteSpan bytes);
};

class Hasher {
 public:
  Hasher();
  // BLAKE3 in keyed mode (a MAC under a 32-byte key).
  static Hasher keyed(const std::array<std::uint8_t, 32>& key);
  Hasher& update(ByteSpan bytes);
  Hash finalize() const;

 private:
  // Storage for the C library's blake3_hasher (1912 bytes in BLAKE3 1.3), kept opaque here so
  // users do not need BLAKE3's headers.
  alignas(8) std::array<std::uint8_t, 1920> state_;
};

}  // namespace p2panda

template <>
struct std::hash<p2panda::Hash> : p2panda::FixedBytesHash {};
