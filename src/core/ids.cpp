#include <p2panda/ids.hpp>

#include <sodium.h>

#include <chrono>
#include <cstdlib>

namespace p2panda {

Topic Topic::random() {
  if (sodium_init() < 0) std::abort();  // no CSPRNG: refuse to make guessable topics
  std::array<std::uint8_t, 32> bytes;
  randombytes_buf(bytes.data(), bytes.size());
  return Topic(bytes);
}

LogId LogId::from_topic(const Topic& topic) {
  return LogId(Hash::digest(topic.bytes()).array());
}

NetworkId NetworkId::default_id() {
  return NetworkId(Hash::digest(as_bytes("p2panda")).array());
}

Bytes protocol_alpn(std::string_view protocol_id, const NetworkId& network) {
  const Hash hash = Hasher().update(as_bytes(protocol_id)).update(network.bytes()).finalize();
  return Bytes(hash.bytes().begin(), hash.bytes().end());
}

Timestamp Timestamp::now() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return Timestamp(static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count()));
}

}  // namespace p2panda
