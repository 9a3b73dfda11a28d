#include "sync/handshake.hpp"

#include "core/try.hpp"

namespace p2panda::sync {
namespace {

Unexpected misuse(const char* what) {
  return fail(Errc::InvalidArgument, std::string("topic handshake: ") + what);
}

// Both sides' states share the names that matter here.
template <class State>
HandshakeStatus status_of(State state) {
  if (state == State::Done) return HandshakeStatus::Done;
  if (state == State::Rejected) return HandshakeStatus::Rejected;
  if (state == State::Failed) return HandshakeStatus::Failed;
  return HandshakeStatus::InProgress;
}

}  // namespace

Bytes HandshakeInitiator::start() {
  state_ = State::AwaitingDone;
  return encode_topic_handshake(HandshakeTopic{topic_});
}

Result<HandshakeStep> HandshakeInitiator::handle(ByteSpan payload) {
  if (state_ == State::Idle) return misuse("handle() before start()");
  if (state_ != State::AwaitingDone) return misuse("handle() after the handshake ended");
  auto message = decode_topic_handshake(payload);
  if (!message || !std::holds_alternative<HandshakeDone>(*message)) {
    state_ = State::Failed;
    if (!message) return Unexpected{std::move(message).error()};
    return protocol_violation("the acceptor sent Topic; only Done is allowed");
  }
  state_ = State::Done;
  return HandshakeStep{{encode_topic_handshake(HandshakeDone{})}, HandshakeStatus::Done};
}

HandshakeStatus HandshakeInitiator::handle_end() {
  if (state_ == State::AwaitingDone) state_ = State::Rejected;
  if (state_ == State::Idle) state_ = State::Failed;
  return status();
}

HandshakeStatus HandshakeInitiator::status() const { return status_of(state_); }

Result<HandshakeStep> HandshakeAcceptor::handle(ByteSpan payload) {
  if (state_ != State::AwaitingTopic && state_ != State::AwaitingDone) {
    return misuse("handle() after the handshake ended");
  }
  auto message = decode_topic_handshake(payload);
  if (!message) {
    state_ = State::Failed;
    return Unexpected{std::move(message).error()};
  }
  const auto* offer = std::get_if<HandshakeTopic>(&*message);
  if (state_ == State::AwaitingTopic) {
    if (!offer) {
      state_ = State::Failed;
      return protocol_violation("the initiator sent Done before naming a topic");
    }
    if (!follows_(offer->topic)) {
      state_ = State::Rejected;
      return HandshakeStep{{}, HandshakeStatus::Rejected};
    }
    topic_ = offer->topic;
    state_ = State::AwaitingDone;
    return HandshakeStep{{encode_topic_handshake(HandshakeDone{})}, HandshakeStatus::InProgress};
  }
  if (offer) {
    state_ = State::Failed;
    return protocol_violation("the initiator sent a second Topic");
  }
  state_ = State::Done;
  return HandshakeStep{{}, HandshakeStatus::Done};
}

HandshakeStatus HandshakeAcceptor::status() const { return status_of(state_); }

}  // namespace p2panda::sync
