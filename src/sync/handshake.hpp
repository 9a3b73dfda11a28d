// The compatible topic handshake of p2panda 0.7 as sans-IO state machines: which topic a sync
// session is about. Runs on the first bi-directional stream of a `p2panda/log_sync/v1` connection:
//
//   initiator -> Topic(t)      acceptor, if it follows t -> Done      initiator -> Done
//
// after which the log sync stream starts. An acceptor that does not follow t ends the session
// without a word (as p2panda does), so the initiator only sees its stream end. The topic travels
// in the clear (to a peer that already authenticated with TLS); hardened_handshake.hpp has a
// variant that never sends it.
//
// The machines do no I/O: the caller feeds each received frame's payload to handle() and sends
// the payloads a HandshakeStep lists, each wrapped with encode_frame, in order. Neither reads a
// clock: the caller applies its own timeout. Not thread-safe; use an instance from one thread.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "sync/messages.hpp"

namespace p2panda::sync {

enum class HandshakeStatus {
  InProgress,  // wait for the next payload
  Done,        // agreed on a topic: start the sync protocol on the next stream
  Rejected,    // the acceptor does not follow the topic: end the session, do not retry it
  Failed,      // a call returned an error, or the stream ended too early: end the session
};

// What to do after a call: send these payloads (in order, each in its own frame), then act on
// `status`. A Done or Rejected step may still carry a payload, which must be sent first.
struct HandshakeStep {
  std::vector<Bytes> send;
  HandshakeStatus status = HandshakeStatus::InProgress;
};

class HandshakeInitiator {
 public:
  explicit HandshakeInitiator(const Topic& topic) : topic_(topic) {}

  // The first payload to send, Topic(t). REQUIRES: called once, before handle().
  Bytes start();

  // A payload received from the acceptor. On Done the step carries our Done and status Done.
  // Errors (the handshake has failed: close the stream and end the session):
  //   Postcard*: the payload is not a TopicHandshake message.
  //   InvalidArgument: a Topic message from the acceptor (a protocol violation), or a call before
  //     start() or after the handshake finished or failed (a bug in the caller).
  Result<HandshakeStep> handle(ByteSpan payload);

  // The stream ended (or the session was closed). Before the acceptor's Done this returns Rejected,
  // which is all p2panda's silent drop tells us (Failed if start() was never called); after Done
  // it returns Done.
  HandshakeStatus handle_end();

  HandshakeStatus status() const;
  bool done() const { return state_ == State::Done; }
  const Topic& topic() const { return topic_; }

 private:
  enum class State { Idle, AwaitingDone, Done, Rejected, Failed };

  Topic topic_;
  State state_ = State::Idle;
};

class HandshakeAcceptor {
 public:
  // `follows` answers whether this node takes part in a topic. It is called at most once, from
  // handle(), and only for the topic the initiator names; it must not call back into this object.
  explicit HandshakeAcceptor(std::function<bool(const Topic&)> follows)
      : follows_(std::move(follows)) {}

  // A payload received from the initiator.
  //   Topic(t), t followed: the step carries Done, status InProgress; wait for the initiator's
  //   Done. Topic(t), t not followed: nothing to send, status Rejected. End the session silently
  //   (p2panda
  //     peers expect no answer); report the rejection to our own caller.
  //   Done after ours: status Done; topic() is the agreed topic.
  // Errors (the handshake has failed: close the stream and end the session):
  //   Postcard*: the payload is not a TopicHandshake message.
  //   InvalidArgument: a message out of turn (Done first, a second Topic), or a call after the
  //     handshake finished, was rejected or failed (a bug in the caller).
  Result<HandshakeStep> handle(ByteSpan payload);

  HandshakeStatus status() const;
  bool done() const { return state_ == State::Done; }

  // The topic once this side has accepted it (from the step that sends our Done on). Never the
  // topic of a rejected request: we do not keep topics we do not follow.
  const std::optional<Topic>& topic() const { return topic_; }

 private:
  enum class State { AwaitingTopic, AwaitingDone, Done, Rejected, Failed };

  std::function<bool(const Topic&)> follows_;
  std::optional<Topic> topic_;
  State state_ = State::AwaitingTopic;
};

}  // namespace p2panda::sync
