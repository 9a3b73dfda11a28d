// The hardened topic handshake (our own protocol, not p2panda's): the two sides agree on a topic
// they both know without either sending it. Each proves knowledge of the topic with a keyed
// BLAKE3 MAC under the topic over fresh nonces from both sides and both TLS node ids, so a proof
// is worthless on any other connection and cannot be reflected back to its sender:
//
//   initiator -> Hello{nonce_i}      acceptor -> Challenge{nonce_a}      initiator -> Proof{mac_i}
//   acceptor  -> Proof{mac_a} if mac_i matches a topic it follows, else Reject
//
// An acceptor that follows no matching topic learns nothing from the initiator's proof, and an
// initiator that does not know the acceptor's topics learns nothing but "rejected". Wire format,
// MAC input and rationale: docs/sync.md, "Hardened topic handshake".
//
// Sans-IO like handshake.hpp: the caller passes received payloads in and sends the payloads a
// step lists, each in its own frame. Nonces come in as arguments (draw them from a CSPRNG, fresh
// for every connection); no clock is read. Not thread-safe; use an instance from one thread.
#pragma once

#include <string_view>
#include <variant>
#include <vector>

#include "sync/handshake.hpp"

namespace p2panda::sync {

// Mixed with a network id into the ALPN (protocol_alpn), like p2panda's protocol ids.
inline constexpr std::string_view kHardenedHandshakeProtocolId = "p2panda-cpp/topic_handshake/v1";

// 32 bytes that one side draws from a CSPRNG for one connection.
class HandshakeNonce : public FixedBytes<HandshakeNonce, 32> {
 public:
  using FixedBytes::FixedBytes;
};

// A keyed BLAKE3 output proving knowledge of a topic on one connection.
class HandshakeMac : public FixedBytes<HandshakeMac, 32> {
 public:
  using FixedBytes::FixedBytes;
};

// ---- Messages: a postcard enum, [0] Hello, [1] Challenge, [2] Proof, [3] Reject ----

struct Hello {
  HandshakeNonce nonce;
  friend bool operator==(const Hello&, const Hello&) = default;
};
struct Challenge {
  HandshakeNonce nonce;
  friend bool operator==(const Challenge&, const Challenge&) = default;
};
struct Proof {
  HandshakeMac mac;
  friend bool operator==(const Proof&, const Proof&) = default;
};
struct Reject {
  friend bool operator==(const Reject&, const Reject&) = default;
};
using HardenedHandshakeMessage = std::variant<Hello, Challenge, Proof, Reject>;

Bytes encode_hardened_handshake(const HardenedHandshakeMessage& message);

// Errors: PostcardTruncated, PostcardNonCanonical, PostcardTrailingBytes, PostcardInvalidValue
// (an unknown variant).
Result<HardenedHandshakeMessage> decode_hardened_handshake(ByteSpan payload);

// The node ids of a connection as TLS authenticated them, from one side's point of view.
struct ConnectionIds {
  NodeId local;
  NodeId remote;
};

enum class HandshakeRole { Initiator, Acceptor };

// The proof that the side in `role` sends: keyed BLAKE3 under the topic over the domain, the role,
// both nonces and both node ids (layout in docs/sync.md). Exposed for tests and documentation.
HandshakeMac handshake_mac(const Topic& topic, HandshakeRole role,
                           const HandshakeNonce& initiator_nonce,
                           const HandshakeNonce& acceptor_nonce, const NodeId& initiator,
                           const NodeId& acceptor);

class HardenedInitiator {
 public:
  HardenedInitiator(const Topic& topic, const HandshakeNonce& nonce, const ConnectionIds& ids)
      : topic_(topic), nonce_(nonce), ids_(ids) {}

  // The first payload to send, Hello{nonce}. REQUIRES: called once, before handle().
  Bytes start();

  // A payload received from the acceptor.
  //   Challenge (first): the step carries our Proof, status InProgress.
  //   Proof (second) that matches: status Done; start the sync protocol for topic().
  //   Reject (at any point): status Rejected; the acceptor does not follow our topic. End the
  //     session; retrying on the same peer will not help until it subscribes.
  // Errors (the handshake has failed: close the stream and end the session):
  //   Postcard*: the payload is not a hardened handshake message.
  //   InvalidArgument: the acceptor's Proof does not match (it does not know the topic, or the
  //     bytes were altered); a message out of turn (Hello, a second Challenge, Proof first); or a
  //     call before start() or after the handshake ended (a bug in the caller).
  Result<HandshakeStep> handle(ByteSpan payload);

  // The stream ended. The acceptor always answers, so this is Failed unless we were Done.
  HandshakeStatus handle_end();

  HandshakeStatus status() const { return status_; }
  bool done() const { return status_ == HandshakeStatus::Done; }
  const Topic& topic() const { return topic_; }

 private:
  enum class Expect { Start, Challenge, Proof, Nothing };

  Topic topic_;
  HandshakeNonce nonce_;
  ConnectionIds ids_;
  HandshakeNonce acceptor_nonce_;
  Expect expect_ = Expect::Start;
  HandshakeStatus status_ = HandshakeStatus::InProgress;
};

class HardenedAcceptor {
 public:
  // `followed`: every topic this node takes part in, as of the connection's start. Each Proof
  // costs one MAC per topic, computed for all of them (no early exit).
  HardenedAcceptor(std::vector<Topic> followed, const HandshakeNonce& nonce,
                   const ConnectionIds& ids)
      : followed_(std::move(followed)), nonce_(nonce), ids_(ids) {}

  // A payload received from the initiator.
  //   Hello (first): the step carries our Challenge, status InProgress.
  //   Proof (second) matching a followed topic: the step carries our Proof, status Done; topic()
  //     is the agreed topic. Send the proof, then start the sync protocol.
  //   Proof matching none: the step carries Reject, status Rejected. Send it and end the session.
  // Errors (the handshake has failed: close the stream and end the session):
  //   Postcard*: the payload is not a hardened handshake message.
  //   InvalidArgument: a message out of turn (anything but Hello first, anything but Proof
  //     second), or a call after the handshake ended (a bug in the caller).
  Result<HandshakeStep> handle(ByteSpan payload);

  // The stream ended: Failed unless we were Done or Rejected.
  HandshakeStatus handle_end();

  HandshakeStatus status() const { return status_; }
  bool done() const { return status_ == HandshakeStatus::Done; }
  // The agreed topic once Done; never a topic the initiator merely tried.
  const std::optional<Topic>& topic() const { return topic_; }

 private:
  enum class Expect { Hello, Proof, Nothing };

  // The followed topic whose initiator MAC equals `mac`, comparing in constant time.
  std::optional<Topic> find_topic(const HandshakeMac& mac) const;

  std::vector<Topic> followed_;
  HandshakeNonce nonce_;
  ConnectionIds ids_;
  HandshakeNonce initiator_nonce_;
  std::optional<Topic> topic_;
  Expect expect_ = Expect::Hello;
  HandshakeStatus status_ = HandshakeStatus::InProgress;
};

}  // namespace p2panda::sync
