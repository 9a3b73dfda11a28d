// The public handles (node.hpp, stream_raw.hpp): each call hops onto the node's thread with
// co_spawn and comes back with the result.
#include <future>

#include "node/engine.hpp"

namespace p2panda {
namespace detail {
namespace {

Unexpected shut_down() { return fail(Errc::NodeShutDown, "the node was shut down"); }

// Runs `body` on the node thread and returns its Result to the caller's executor. Result<T> is not
// default-constructible, which co_spawn's completion needs, hence the optional.
template <class T>
Awaitable<Result<T>> on_node(std::shared_ptr<NodeEngine> engine, net::Awaitable<Result<T>> body) {
  if (engine->is_shut_down()) co_return shut_down();
  auto wrapped = [](net::Awaitable<Result<T>> inner) -> net::Awaitable<std::optional<Result<T>>> {
    co_return co_await std::move(inner);
  };
  auto result = co_await asio::co_spawn(engine->executor(), wrapped(std::move(body)),
                                        asio::use_awaitable);
  if (!result) co_return shut_down();
  co_return std::move(*result);
}

// The blocking form: waits at most `timeout` (plus the body's own waits). REQUIRES: not on the
// node thread, which would wait for itself.
template <class T>
Result<T> on_node_blocking(const std::shared_ptr<NodeEngine>& engine,
                           net::Awaitable<Result<T>> body,
                           std::chrono::milliseconds timeout = std::chrono::hours(24)) {
  if (engine->is_shut_down()) return shut_down();
  auto wrapped = [](net::Awaitable<Result<T>> inner) -> net::Awaitable<std::optional<Result<T>>> {
    co_return co_await std::move(inner);
  };
  auto future = asio::co_spawn(engine->executor(), wrapped(std::move(body)), asio::use_future);
  if (future.wait_for(timeout) != std::future_status::ready) {
    return fail(Errc::Io, "the node did not answer in time");
  }
  try {
    auto result = future.get();
    if (!result) return shut_down();
    return std::move(*result);
  } catch (const std::exception&) {
    return shut_down();  // the node's thread stopped before answering
  }
}

}  // namespace

RawPublisher::RawPublisher(std::shared_ptr<NodeEngine> engine, std::shared_ptr<TopicStream> stream)
    : engine_(std::move(engine)), stream_(std::move(stream)) {}

const Topic& RawPublisher::topic() const { return stream_->topic(); }

Awaitable<Result<Hash>> RawPublisher::publish(std::optional<Bytes> body, bool prune) {
  auto engine = engine_;
  auto stream = stream_;
  auto task = [](std::shared_ptr<NodeEngine> e, std::shared_ptr<TopicStream> s,
                 std::optional<Bytes> b, bool p) -> net::Awaitable<Result<Hash>> {
    co_return co_await e->publish(std::move(s), std::move(b), p);
  };
  return on_node<Hash>(engine, task(engine, stream, std::move(body), prune));
}

Result<Hash> RawPublisher::publish_blocking(std::optional<Bytes> body, bool prune) {
  auto task = [](std::shared_ptr<NodeEngine> e, std::shared_ptr<TopicStream> s,
                 std::optional<Bytes> b, bool p) -> net::Awaitable<Result<Hash>> {
    co_return co_await e->publish(std::move(s), std::move(b), p);
  };
  return on_node_blocking<Hash>(engine_, task(engine_, stream_, std::move(body), prune));
}

Awaitable<Result<ImportEnded>> RawPublisher::import(std::vector<Operation> operations) {
  auto task = [](std::shared_ptr<NodeEngine> e, std::shared_ptr<TopicStream> s,
                 std::vector<Operation> ops) -> net::Awaitable<Result<ImportEnded>> {
    if (e->is_shut_down()) co_return shut_down();
    co_return e->import(*s, std::move(ops));
  };
  return on_node<ImportEnded>(engine_, task(engine_, stream_, std::move(operations)));
}

Awaitable<void> RawPublisher::close() {
  auto task = [](std::shared_ptr<NodeEngine> e, Topic t) -> net::Awaitable<Result<bool>> {
    if (!e->is_shut_down()) e->close_sessions(t);
    co_return true;
  };
  (void)co_await on_node<bool>(engine_, task(engine_, stream_->topic()));
}

RawSubscription::RawSubscription(std::shared_ptr<NodeEngine> engine,
                                 std::shared_ptr<TopicStream> stream)
    : engine_(std::move(engine)), stream_(std::move(stream)) {}

const Topic& RawSubscription::topic() const { return stream_->topic(); }

namespace {

// The next event, waiting until `deadline`: nullopt when it passed first.
net::Awaitable<Result<std::optional<RawEvent>>> next_event(std::shared_ptr<NodeEngine> engine,
                                                           std::shared_ptr<TopicStream> stream,
                                                           node::Clock::time_point deadline) {
  for (;;) {
    if (auto event = stream->pop()) {
      stream->pump(node::now_micros());  // room in the window: move more deliveries in
      engine->counters().delivered.fetch_add(std::holds_alternative<RawProcessed>(*event));
      co_return std::optional<RawEvent>(std::move(*event));
    }
    if (stream->closed() || engine->is_shut_down()) co_return shut_down();
    if (node::Clock::now() >= deadline) co_return std::optional<RawEvent>{};
    co_await stream->changed().wait_until(deadline);
  }
}

}  // namespace

Awaitable<Result<RawEvent>> RawSubscription::next() {
  auto event = co_await on_node<std::optional<RawEvent>>(
      engine_, next_event(engine_, stream_, node::Clock::time_point::max()));
  if (!event) co_return Unexpected{event.error()};
  co_return std::move(**event);
}

Result<std::optional<RawEvent>> RawSubscription::next_blocking(std::chrono::milliseconds timeout) {
  const auto deadline = node::Clock::now() + timeout;
  return on_node_blocking<std::optional<RawEvent>>(engine_, next_event(engine_, stream_, deadline),
                                                   timeout + std::chrono::seconds(5));
}

namespace {
net::Awaitable<Result<void>> ack_task(std::shared_ptr<TopicStream> stream, Hash id) {
  co_return stream->ack(id);
}
}  // namespace

Awaitable<Result<void>> RawSubscription::ack(const Hash& id) {
  return on_node<void>(engine_, ack_task(stream_, id));
}

Result<void> RawSubscription::ack_blocking(const Hash& id) {
  return on_node_blocking<void>(engine_, ack_task(stream_, id));
}

Awaitable<void> RawSubscription::nak(const Hash& id) {
  auto task = [](std::shared_ptr<TopicStream> s, Hash h) -> net::Awaitable<Result<bool>> {
    s->nak(h, node::now_micros());
    co_return true;
  };
  (void)co_await on_node<bool>(engine_, task(stream_, id));
}

}  // namespace detail
}  // namespace p2panda
