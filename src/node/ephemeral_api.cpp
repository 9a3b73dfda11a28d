// The public handles of ephemeral streams and the event stream (ephemeral_stream.hpp, node.hpp):
// each call hops onto the node's thread with co_spawn and comes back with the result.
#include <future>

#include "node/engine.hpp"
#include "node/on_node.hpp"
#include "node/gossip_node.hpp"

namespace p2panda {
namespace detail {
namespace {

net::Awaitable<Result<bool>> publish_task(std::shared_ptr<NodeEngine> engine, Topic topic,
                                          Bytes body) {
  if (engine->is_shut_down()) co_return shut_down();
  auto sent = engine->gossip().publish_ephemeral(topic, body);
  if (!sent) co_return Unexpected{sent.error()};
  co_return true;
}

template <class T>
net::Awaitable<Result<std::optional<T>>> next_task(std::shared_ptr<NodeEngine> engine,
                                                   std::shared_ptr<node::Mailbox<T>> keep,
                                                   node::Clock::time_point deadline,
                                                   std::shared_ptr<Abandon> abandon = {}) {
  if (engine->is_shut_down()) co_return shut_down();
  auto waiting = keep->next(deadline, abandon ? &abandon->flag : nullptr);
  auto next = co_await std::move(waiting);
  co_return next;
}

// The mailbox inside an inbox, sharing its lifetime.
template <class Inbox>
auto mailbox_of(const std::shared_ptr<Inbox>& inbox) {
  return std::shared_ptr<std::remove_reference_t<decltype(inbox->mailbox)>>(inbox, &inbox->mailbox);
}

template <class T>
Awaitable<Result<T>> next_forever(std::shared_ptr<NodeEngine> engine,
                                  std::shared_ptr<node::Mailbox<T>> mailbox) {
  auto abandon = std::make_shared<Abandon>();
  // The plain engine in the body, not the public lease (see RawSubscription::next).
  auto task = next_task<T>(engine->shared_from_this(), mailbox, node::Clock::time_point::max(),
                           abandon);
  return on_node_cancellable<T>(
      engine, abandon, std::move(task), [mailbox] { mailbox->wake(); },
      [mailbox](T value) { mailbox->give_back(std::move(value)); });
}

template <class T>
Result<std::optional<T>> next_within(const std::shared_ptr<NodeEngine>& engine,
                                     std::shared_ptr<node::Mailbox<T>> mailbox,
                                     std::chrono::milliseconds timeout) {
  auto abandon = std::make_shared<Abandon>();
  auto task = next_task<T>(engine->shared_from_this(), mailbox, node::Clock::now() + timeout,
                           abandon);
  return on_node_blocking_cancellable<T>(
      engine, abandon, std::move(task), [mailbox] { mailbox->wake(); },
      [mailbox](T value) { mailbox->give_back(std::move(value)); }, with_grace(timeout));
}

}  // namespace

RawEphemeralPublisher::RawEphemeralPublisher(std::shared_ptr<NodeEngine> engine, Topic topic,
                                             std::shared_ptr<void> lease)
    : engine_(std::move(engine)), topic_(topic), lease_(std::move(lease)) {}

Awaitable<Result<void>> RawEphemeralPublisher::publish(Bytes body) {
  auto task = publish_task(engine_, topic_, std::move(body));
  auto sending = on_node<bool>(engine_, std::move(task));
  auto sent = co_await std::move(sending);
  if (!sent) co_return Unexpected{sent.error()};
  co_return Result<void>{};
}

Result<void> RawEphemeralPublisher::publish_blocking(Bytes body) {
  auto sent = on_node_blocking<bool>(engine_, publish_task(engine_, topic_, std::move(body)));
  if (!sent) return Unexpected{sent.error()};
  return {};
}

RawEphemeralSubscription::RawEphemeralSubscription(std::shared_ptr<NodeEngine> engine,
                                                   std::shared_ptr<EphemeralInbox> inbox,
                                                   Topic topic, std::shared_ptr<void> lease)
    : engine_(std::move(engine)),
      inbox_(std::move(inbox)),
      topic_(topic),
      lease_(std::move(lease)) {}

Awaitable<Result<EphemeralMessage>> RawEphemeralSubscription::next() {
  return next_forever<EphemeralMessage>(engine_, mailbox_of(inbox_));
}

Result<std::optional<EphemeralMessage>> RawEphemeralSubscription::next_blocking(
    std::chrono::milliseconds timeout) {
  return next_within<EphemeralMessage>(engine_, mailbox_of(inbox_), timeout);
}

std::uint64_t RawEphemeralSubscription::dropped() const { return inbox_->mailbox.dropped(); }

}  // namespace detail

EventStream::EventStream(std::shared_ptr<detail::NodeEngine> engine,
                         std::shared_ptr<detail::EventInbox> inbox)
    : engine_(std::move(engine)), inbox_(std::move(inbox)) {}

Awaitable<Result<SystemEvent>> EventStream::next() {
  return detail::next_forever<SystemEvent>(engine_, detail::mailbox_of(inbox_));
}

Result<std::optional<SystemEvent>> EventStream::next(std::chrono::milliseconds timeout) {
  return detail::next_within<SystemEvent>(engine_, detail::mailbox_of(inbox_), timeout);
}

std::uint64_t EventStream::dropped() const { return inbox_->mailbox.dropped(); }

namespace {

net::Awaitable<Result<std::shared_ptr<detail::EphemeralInbox>>> open_ephemeral_task(
    std::shared_ptr<detail::NodeEngine> engine, Topic topic) {
  if (engine->is_shut_down()) co_return detail::shut_down();
  co_return engine->gossip().subscribe_ephemeral(topic);
}

// Once the publisher and the subscription of an opened ephemeral stream are both gone, the node
// lets go of the topic's overlay (unless another opened ephemeral stream of it is held). The
// posted task holds the engine, not the node's Lifetime, so it cannot shut the node down.
struct EphemeralLease {
  std::shared_ptr<detail::NodeEngine> engine;
  Topic topic;
  ~EphemeralLease() {
    if (!engine || engine->is_shut_down()) return;
    asio::post(engine->executor(), [engine = engine->shared_from_this(), topic = topic] {
      engine->release_ephemeral(topic);
    });
  }
};

Node::RawEphemeral leased_ephemeral(const std::shared_ptr<detail::NodeEngine>& engine,
                                    const Topic& topic,
                                    std::shared_ptr<detail::EphemeralInbox> inbox) {
  auto lease = std::make_shared<EphemeralLease>();
  lease->engine = engine;
  lease->topic = topic;
  return Node::RawEphemeral{detail::RawEphemeralPublisher(engine, topic, lease),
                            detail::RawEphemeralSubscription(engine, std::move(inbox), topic,
                                                             lease)};
}

net::Awaitable<Result<std::shared_ptr<detail::EventInbox>>> event_stream_task(
    std::shared_ptr<detail::NodeEngine> engine) {
  if (engine->is_shut_down()) co_return detail::shut_down();
  co_return engine->gossip().subscribe_events();
}

}  // namespace

Awaitable<Result<Node::RawEphemeral>> Node::open_ephemeral(Topic topic) {
  auto task = open_ephemeral_task(engine_, topic);
  auto opening = detail::on_node<std::shared_ptr<detail::EphemeralInbox>>(engine_, std::move(task));
  auto inbox = co_await std::move(opening);
  if (!inbox) co_return Unexpected{inbox.error()};
  co_return leased_ephemeral(engine_, topic, std::move(*inbox));
}

Result<Node::RawEphemeral> Node::open_ephemeral_blocking(Topic topic) {
  auto inbox = detail::on_node_blocking<std::shared_ptr<detail::EphemeralInbox>>(
      engine_, open_ephemeral_task(engine_, topic));
  if (!inbox) return Unexpected{inbox.error()};
  return leased_ephemeral(engine_, topic, std::move(*inbox));
}

Awaitable<Result<EventStream>> Node::event_stream() {
  auto task = event_stream_task(engine_);
  auto opening = detail::on_node<std::shared_ptr<detail::EventInbox>>(engine_, std::move(task));
  auto inbox = co_await std::move(opening);
  if (!inbox) co_return Unexpected{inbox.error()};
  co_return EventStream(engine_, *inbox);
}

Result<EventStream> Node::event_stream_blocking() {
  auto inbox = detail::on_node_blocking<std::shared_ptr<detail::EventInbox>>(
      engine_, event_stream_task(engine_));
  if (!inbox) return Unexpected{inbox.error()};
  return EventStream(engine_, *inbox);
}

}  // namespace p2panda
