#include "sync/hardened_handshake.hpp"

#include <sodium.h>

#include "core/postcard.hpp"
#include "core/try.hpp"

namespace p2panda::sync {
namespace {

enum Variant : std::uint64_t { kHello = 0, kChallenge = 1, kProof = 2, kReject = 3 };

template <class T>
Result<T> read_fixed(postcard::Reader& reader) {
  P2PANDA_TRY(bytes, reader.raw(T::kSize));
  return T::from_bytes(bytes);
}

Unexpected misuse(const char* what) {
  return fail(Errc::InvalidArgument, std::string("hardened topic handshake: ") + what);
}

bool same_mac(const HandshakeMac& a, const HandshakeMac& b) {
  return sodium_memcmp(a.data(), b.data(), HandshakeMac::kSize) == 0;
}

std::string_view name(const HardenedHandshakeMessage& message) {
  static constexpr std::string_view kNames[] = {"Hello", "Challenge", "Proof", "Reject"};
  return kNames[message.index()];
}

Unexpected proof_invalid() {
  return fail(Errc::HandshakeProofInvalid,
              "hardened topic handshake: the acceptor's proof does not match our topic and "
              "connection");
}

Unexpected out_of_turn(const HardenedHandshakeMessage& message, const char* expected) {
  return protocol_violation("hardened topic handshake: got " + std::string(name(message)) +
                            ", expected " + expected);
}

HandshakeStep send(const HardenedHandshakeMessage& message, HandshakeStatus status) {
  return HandshakeStep{{encode_hardened_handshake(message)}, status};
}

}  // namespace

Bytes encode_hardened_handshake(const HardenedHandshakeMessage& message) {
  postcard::Writer writer;
  writer.varint(message.index());
  if (const auto* hello = std::get_if<Hello>(&message)) writer.raw(hello->nonce.bytes());
  if (const auto* challenge = std::get_if<Challenge>(&message)) {
    writer.raw(challenge->nonce.bytes());
  }
  if (const auto* proof = std::get_if<Proof>(&message)) writer.raw(proof->mac.bytes());
  return std::move(writer).take();
}

Result<HardenedHandshakeMessage> decode_hardened_handshake(ByteSpan payload) {
  postcard::Reader reader(payload);
  P2PANDA_TRY(variant, reader.varint());
  HardenedHandshakeMessage message;
  switch (variant) {
    case kHello: {
      P2PANDA_TRY(nonce, read_fixed<HandshakeNonce>(reader));
      message = Hello{nonce};
      break;
    }
    case kChallenge: {
      P2PANDA_TRY(nonce, read_fixed<HandshakeNonce>(reader));
      message = Challenge{nonce};
      break;
    }
    case kProof: {
      P2PANDA_TRY(mac, read_fixed<HandshakeMac>(reader));
      message = Proof{mac};
      break;
    }
    case kReject:
      message = Reject{};
      break;
    default:
      return fail(Errc::PostcardInvalidValue, "hardened topic handshake: unknown variant " +
                                                  std::to_string(variant) + " at offset 0");
  }
  P2PANDA_CHECK(reader.expect_end());
  return message;
}

HandshakeMac handshake_mac(const Topic& topic, HandshakeRole role,
                           const HandshakeNonce& initiator_nonce,
                           const HandshakeNonce& acceptor_nonce, const NodeId& initiator,
                           const NodeId& acceptor) {
  postcard::Writer input;
  input.text(kHardenedHandshakeProtocolId)
      .text(role == HandshakeRole::Initiator ? "initiator" : "acceptor")
      .raw(initiator_nonce.bytes())
      .raw(acceptor_nonce.bytes())
      .raw(initiator.bytes())
      .raw(acceptor.bytes());
  return HandshakeMac(Hasher::keyed(topic.array()).update(input.data()).finalize().array());
}

Bytes HardenedInitiator::start() {
  expect_ = Expect::Challenge;
  return encode_hardened_handshake(Hello{nonce_});
}

Result<HandshakeStep> HardenedInitiator::handle(ByteSpan payload) {
  if (expect_ == Expect::Start) return misuse("handle() before start()");
  if (expect_ == Expect::Nothing) return misuse("handle() after the handshake ended");
  const Expect expected = expect_;
  // Everything but an in-turn Challenge ends the handshake.
  expect_ = Expect::Nothing;
  status_ = HandshakeStatus::Failed;
  P2PANDA_TRY(message, decode_hardened_handshake(payload));
  if (std::holds_alternative<Reject>(message)) {
    status_ = HandshakeStatus::Rejected;
    return HandshakeStep{{}, status_};
  }
  if (expected == Expect::Challenge) {
    const auto* challenge = std::get_if<Challenge>(&message);
    if (!challenge) return out_of_turn(message, "Challenge");
    acceptor_nonce_ = challenge->nonce;
    expect_ = Expect::Proof;
    status_ = HandshakeStatus::InProgress;
    return send(Proof{handshake_mac(topic_, HandshakeRole::Initiator, nonce_, acceptor_nonce_,
                                    ids_.local, ids_.remote)},
                status_);
  }
  const auto* proof = std::get_if<Proof>(&message);
  if (!proof) return out_of_turn(message, "Proof");
  const HandshakeMac expected_mac = handshake_mac(topic_, HandshakeRole::Acceptor, nonce_,
                                                  acceptor_nonce_, ids_.local, ids_.remote);
  if (!same_mac(proof->mac, expected_mac)) return proof_invalid();
  status_ = HandshakeStatus::Done;
  return HandshakeStep{{}, status_};
}

HandshakeStatus HardenedInitiator::handle_end() {
  if (status_ == HandshakeStatus::InProgress) {
    status_ = HandshakeStatus::Failed;
    expect_ = Expect::Nothing;
  }
  return status_;
}

Result<HandshakeStep> HardenedAcceptor::handle(ByteSpan payload) {
  if (expect_ == Expect::Nothing) return misuse("handle() after the handshake ended");
  const Expect expected = expect_;
  expect_ = Expect::Nothing;
  status_ = HandshakeStatus::Failed;
  P2PANDA_TRY(message, decode_hardened_handshake(payload));
  if (expected == Expect::Hello) {
    const auto* hello = std::get_if<Hello>(&message);
    if (!hello) return out_of_turn(message, "Hello");
    initiator_nonce_ = hello->nonce;
    expect_ = Expect::Proof;
    status_ = HandshakeStatus::InProgress;
    return send(Challenge{nonce_}, status_);
  }
  const auto* proof = std::get_if<Proof>(&message);
  if (!proof) return out_of_turn(message, "Proof");
  topic_ = find_topic(proof->mac);
  if (!topic_) {
    status_ = HandshakeStatus::Rejected;
    return send(Reject{}, status_);
  }
  status_ = HandshakeStatus::Done;
  return send(Proof{handshake_mac(*topic_, HandshakeRole::Acceptor, initiator_nonce_, nonce_,
                                  ids_.remote, ids_.local)},
              status_);
}

HandshakeStatus HardenedAcceptor::handle_end() {
  if (status_ == HandshakeStatus::InProgress) {
    status_ = HandshakeStatus::Failed;
    expect_ = Expect::Nothing;
  }
  return status_;
}

std::optional<Topic> HardenedAcceptor::find_topic(const HandshakeMac& mac) const {
  // No early exit: the time taken does not say where in the list the match was.
  std::optional<Topic> found;
  for (const Topic& topic : followed_) {
    const HandshakeMac expected = handshake_mac(topic, HandshakeRole::Initiator, initiator_nonce_,
                                                nonce_, ids_.remote, ids_.local);
    if (same_mac(mac, expected) && !found) found = topic;
  }
  return found;
}

}  // namespace p2panda::sync
