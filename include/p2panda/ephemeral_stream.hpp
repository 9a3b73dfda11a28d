// Ephemeral streams (Node::ephemeral_stream<T>(topic)) and the system event stream
// (Node::event_stream()): messages that are signed but never stored, carried by gossip only
// (p2panda's ephemeral_stream), and the node's own events. Publisher, subscription and event
// stream are cheap copyable handles; the awaitables run on the node's thread, the blocking
// forms REQUIRE not being on it. Nothing throws: errors are Result values. docs/node.md.
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include <p2panda/awaitable.hpp>
#include <p2panda/codec.hpp>
#include <p2panda/ephemeral.hpp>
#include <p2panda/events.hpp>

namespace p2panda {

// One ephemeral message as a subscriber receives it: its signature was checked.
template <class T>
struct Ephemeral {
  Topic topic;
  NodeId author;
  Timestamp timestamp;
  std::uint64_t lamport = 0;
  T message;
};

namespace detail {
class NodeEngine;
struct EphemeralInbox;
struct EventInbox;

class RawEphemeralPublisher {
 public:
  // `lease`: shared with the subscription opened with it; the last copy lets the node leave the
  // topic's overlay.
  RawEphemeralPublisher(std::shared_ptr<NodeEngine> engine, Topic topic,
                        std::shared_ptr<void> lease = {});
  // `body`: one CBOR item. Errors: FrameTooLarge (over the gossip message size), Cbor*,
  // NodeShutDown.
  Awaitable<Result<void>> publish(Bytes body);
  Result<void> publish_blocking(Bytes body);
  const Topic& topic() const { return topic_; }

 private:
  std::shared_ptr<NodeEngine> engine_;
  Topic topic_;
  std::shared_ptr<void> lease_;
};

class RawEphemeralSubscription {
 public:
  RawEphemeralSubscription(std::shared_ptr<NodeEngine> engine,
                           std::shared_ptr<EphemeralInbox> inbox, Topic topic,
                           std::shared_ptr<void> lease = {});
  // Errors: NodeShutDown.
  Awaitable<Result<EphemeralMessage>> next();
  // nullopt when nothing arrived within `timeout`.
  Result<std::optional<EphemeralMessage>> next_blocking(std::chrono::milliseconds timeout);
  const Topic& topic() const { return topic_; }
  std::uint64_t dropped() const;

 private:
  std::shared_ptr<NodeEngine> engine_;
  std::shared_ptr<EphemeralInbox> inbox_;
  Topic topic_;
  std::shared_ptr<void> lease_;
};
}  // namespace detail

template <class T>
class EphemeralPublisher {
 public:
  explicit EphemeralPublisher(detail::RawEphemeralPublisher raw) : raw_(std::move(raw)) {}
  // Signs `message` and broadcasts it to the topic's gossip overlay; nothing is stored, and
  // peers that are not in the overlay now never see it. Errors: FrameTooLarge, NodeShutDown.
  Awaitable<Result<void>> publish(const T& message) {
    return raw_.publish(Codec<T>::encode(message));
  }
  Result<void> publish_blocking(const T& message) {
    return raw_.publish_blocking(Codec<T>::encode(message));
  }
  const Topic& topic() const { return raw_.topic(); }

 private:
  detail::RawEphemeralPublisher raw_;
};

template <class T>
class EphemeralSubscription {
 public:
  explicit EphemeralSubscription(detail::RawEphemeralSubscription raw) : raw_(std::move(raw)) {}
  // The next message from another node. Messages whose signature fails are refused and counted
  // by the node (NodeMetrics::ephemeral_rejected); bodies that are not a T are skipped here and
  // counted by undecodable(). Errors: NodeShutDown.
  Awaitable<Result<Ephemeral<T>>> next() {
    for (;;) {
      auto waiting = raw_.next();
      auto raw = co_await std::move(waiting);
      if (!raw) co_return Unexpected{raw.error()};
      auto typed_message = typed(*raw);
      if (typed_message) co_return std::move(*typed_message);
      ++undecodable_;
    }
  }
  // Blocking: nullopt when nothing arrived within `timeout`.
  Result<std::optional<Ephemeral<T>>> next(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      auto raw = raw_.next_blocking(std::max(left, std::chrono::milliseconds(0)));
      if (!raw) return Unexpected{raw.error()};
      if (!*raw) return std::optional<Ephemeral<T>>{};
      auto typed_message = typed(**raw);
      if (typed_message) return typed_message;
      ++undecodable_;
    }
  }
  const Topic& topic() const { return raw_.topic(); }
  // Messages lost because they waited unread while 256 newer ones arrived (the oldest go first).
  // Shared by copies of this subscription.
  std::uint64_t dropped() const { return raw_.dropped(); }
  // Messages this handle skipped because their body did not decode as a T.
  std::uint64_t undecodable() const { return undecodable_; }

 private:
  std::optional<Ephemeral<T>> typed(const EphemeralMessage& raw) const {
    auto message = Codec<T>::decode(raw.body());
    if (!message) return std::nullopt;
    return Ephemeral<T>{raw_.topic(), raw.author(), raw.timestamp(), raw.lamport(),
                        std::move(*message)};
  }

  detail::RawEphemeralSubscription raw_;
  std::uint64_t undecodable_ = 0;
};

template <class T>
struct EphemeralStream {
  EphemeralPublisher<T> publisher;
  EphemeralSubscription<T> subscription;
};

// The node's system events from the moment it was opened (events.hpp, SystemEvent). At most
// 1024 wait unread; older ones are then dropped and counted by dropped() (p2panda's channel holds
// 64 and reports such a gap as a Lagged error).
class EventStream {
 public:
  EventStream(std::shared_ptr<detail::NodeEngine> engine,
              std::shared_ptr<detail::EventInbox> inbox);
  // Errors: NodeShutDown.
  Awaitable<Result<SystemEvent>> next();
  // nullopt when nothing happened within `timeout`.
  Result<std::optional<SystemEvent>> next(std::chrono::milliseconds timeout);
  // Events lost so far because 1024 newer ones waited unread. Any thread.
  std::uint64_t dropped() const;

 private:
  std::shared_ptr<detail::NodeEngine> engine_;
  std::shared_ptr<detail::EventInbox> inbox_;
};

}  // namespace p2panda
