#include <p2panda/hash.hpp>

#include <blake3.h>

namespace p2panda {

static_assert(sizeof(blake3_hasher) <= sizeof(std::array<std::uint8_t, 1920>));
static_assert(alignof(blake3_hasher) <= 8);

Hash Hash::digest(ByteSpan bytes) {
  blake3_hasher hasher;
  blake3_hasher_init(&hasher);
  blake3_hasher_update(&hasher, bytes.data(), bytes.size());
  std::array<std::uint8_t, 32> out;
  blake3_hasher_finalize(&hasher, out.data(), out.size());
  return Hash(out);
}

Hasher::Hasher() { blake3_hasher_init(reinterpret_cast<blake3_hasher*>(state_.data())); }

Hasher Hasher::keyed(const std::array<std::uint8_t, 32>& key) {
  Hasher hasher;
  blake3_hasher_init_keyed(reinterpret_cast<blake3_hasher*>(hasher.state_.data()), key.data());
  return hasher;
}

Hasher& Hasher::update(ByteSpan bytes) {
  blake3_hasher_update(reinterpret_cast<blake3_hasher*>(state_.data()), bytes.data(),
                       bytes.size());
  return *this;
}

Hash Hasher::finalize() const {
  std::array<std::uint8_t, 32> out;
  blake3_hasher_finalize(reinterpret_cast<const blake3_hasher*>(state_.data()), out.data(),
                         out.size());
  return Hash(out);
}

}  // namespace p2panda
