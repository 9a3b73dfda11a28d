// Topic, LogId, SeqNum and Timestamp: the small strong types of the data model.
//
// A Topic is 32 secret random bytes naming a stream; whoever knows it can join. LogId =
// BLAKE3(topic): the Node API keeps one append-only log per (author, topic). SeqNum counts entries
// in a log from 0; Timestamp is microseconds since the UNIX epoch. Plain values: any thread.
#pragma once

#include <compare>
#include <cstdint>

#include <p2panda/hash.hpp>

namespace p2panda {

class Topic : public FixedBytes<Topic, 32> {
 public:
  using FixedBytes::FixedBytes;

  // 32 bytes from libsodium's CSPRNG. Topics must be unguessable: knowing one grants access.
  static Topic random();
};

class LogId : public FixedBytes<LogId, 32> {
 public:
  using FixedBytes::FixedBytes;

  // BLAKE3(topic), the log id the Node API uses for every author's log in `topic`.
  static LogId from_topic(const Topic& topic);
};

// Which p2panda network a node belongs to; mixed into every ALPN so that networks stay apart. Not
// secret: ALPNs travel in the clear.
class NetworkId : public FixedBytes<NetworkId, 32> {
 public:
  using FixedBytes::FixedBytes;
  // BLAKE3("p2panda"), p2panda's DEFAULT_NETWORK_ID.
  static NetworkId default_id();
};

// ALPN of a p2panda protocol on a network: the 32 raw bytes of BLAKE3(protocol_id || network_id).
Bytes protocol_alpn(std::string_view protocol_id, const NetworkId& network);

template <class Tag, class T>
class StrongInt {
 public:
  using value_type = T;
  constexpr StrongInt() = default;
  constexpr explicit StrongInt(T value) : value_(value) {}
  constexpr T value() const { return value_; }
  friend constexpr auto operator<=>(StrongInt, StrongInt) = default;

 private:
  T value_{};
};

class SeqNum : public StrongInt<SeqNum, std::uint32_t> {
 public:
  using StrongInt::StrongInt;
  constexpr bool is_first() const { return value() == 0; }
};

class Timestamp : public StrongInt<Timestamp, std::uint64_t> {
 public:
  using StrongInt::StrongInt;
  // Microseconds since the UNIX epoch from the system clock.
  static Timestamp now();
};

}  // namespace p2panda

template <>
struct std::hash<p2panda::Topic> : p2panda::FixedBytesHash {};
template <>
struct std::hash<p2panda::LogId> : p2panda::FixedBytesHash {};
