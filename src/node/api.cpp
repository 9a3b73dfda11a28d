// The public handles (node.hpp, stream_raw.hpp): each call hops onto the node's thread with
// co_spawn and comes back with the result; publishes go through the engine's publish queue
// instead (engine_publish.cpp), which answers through a PublishReply.
#include <future>

#include <asio/async_result.hpp>
#include <asio/use_awaitable.hpp>

#include "node/engine.hpp"
#include "node/on_node.hpp"

namespace p2panda {
namespace detail {

RawPublisher::RawPublisher(std::shared_ptr<NodeEngine> engine, std::shared_ptr<TopicStream> stream)
    : engine_(std::move(engine)), stream_(std::move(stream)) {}

const Topic& RawPublisher::topic() const { return stream_->topic(); }

namespace {

// Answers an awaiting coroutine on its own executor, never on the thread that replies.
template <class Handler>
PublishReply reply_to(Handler handler) {
  return PublishReply([handler = std::move(handler)](Result<Hash> result) mutable {
    auto executor = asio::get_associated_executor(handler);
    asio::post(executor, [handler = std::move(handler), result = std::move(result)]() mutable {
      std::move(handler)(std::move(result));
    });
  });
}

net::Awaitable<Result<ImportEnded>> import_task(std::shared_ptr<NodeEngine> engine,
                                                std::shared_ptr<TopicStream> stream,
                                                std::vector<Operation> operations) {
  if (engine->is_shut_down()) co_return shut_down();
  auto importing = engine->import(std::move(stream), std::move(operations));
  co_return co_await std::move(importing);
}

net::Awaitable<Result<bool>> close_task(std::shared_ptr<NodeEngine> engine, Topic topic) {
  if (!engine->is_shut_down()) engine->close_sessions(topic);
  co_return true;
}

// A coroutine of its own so that it holds the engine and stream, not the publisher: the
// awaitable may be awaited after the publisher is gone.
Awaitable<Result<Hash>> publish_via(std::shared_ptr<NodeEngine> engine,
                                    std::shared_ptr<TopicStream> stream,
                                    std::optional<Bytes> body, bool prune) {
  auto initiate = [engine = std::move(engine), stream = std::move(stream), body = std::move(body),
                   prune](auto handler) mutable {
    engine->enqueue_publish(std::move(stream), std::move(body), prune,
                            reply_to(std::move(handler)));
  };
  // A named local: g++ 12 destroys temporaries inside co_await twice (docs/node.md).
  auto published = asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<Hash>)>(
      std::move(initiate), asio::use_awaitable);
  co_return co_await std::move(published);
}

}  // namespace

Awaitable<Result<Hash>> RawPublisher::publish(std::optional<Bytes> body, bool prune) {
  return publish_via(engine_, stream_, std::move(body), prune);
}

// REQUIRES: not on the node thread, which would wait for itself.
Result<Hash> RawPublisher::publish_blocking(std::optional<Bytes> body, bool prune) {
  auto promise = std::make_shared<std::promise<Result<Hash>>>();
  auto answer = promise->get_future();
  engine_->enqueue_publish(stream_, std::move(body), prune, PublishReply([promise](Result<Hash> r) {
                             promise->set_value(std::move(r));
                           }));
  return answer.get();
}

Awaitable<Result<ImportEnded>> RawPublisher::import(std::vector<Operation> operations) {
  return on_node<ImportEnded>(engine_, import_task(engine_, stream_, std::move(operations)));
}

Awaitable<void> RawPublisher::close() {
  auto closing = on_node<bool>(engine_, close_task(engine_, stream_->topic()));
  (void)co_await std::move(closing);
}

RawSubscription::RawSubscription(std::shared_ptr<NodeEngine> engine,
                                 std::shared_ptr<TopicStream> stream)
    : engine_(std::move(engine)), stream_(std::move(stream)) {}

const Topic& RawSubscription::topic() const { return stream_->topic(); }

namespace {

// Saves a begun ack's cursor on the store's writer thread and waits for it without blocking the
// node thread, which goes on with other topics meanwhile.
net::Awaitable<Result<void>> save_cursor(const std::shared_ptr<NodeEngine>& engine,
                                         const std::shared_ptr<TopicStream>& stream,
                                         const Cursor& cursor) {
  struct Outcome {
    bool done = false;
    Result<void> saved;
  };
  auto outcome = std::make_shared<Outcome>();
  // The writer thread must not hold `stream`: it is a public handle (a lease), and if it were
  // the last one, the node would be shut down from the writer thread, which cannot join itself.
  // The stream itself, without the lease, is safe to hold anywhere.
  engine->store().submit(
      [cursor](store::StoreWriter& writer) { return writer.merge_cursor(cursor); },
      [outcome, plain = stream->shared_from_this(),
       completions = engine->completions()](Result<void> saved) {
        completions->post([outcome, stream = plain, saved = std::move(saved)] {
          outcome->saved = saved;
          outcome->done = true;
          stream->changed().notify_all();
        });
      });
  while (!outcome->done && !engine->is_shut_down()) {
    co_await stream->changed().wait_until(node::Clock::time_point::max());
  }
  co_return outcome->done ? outcome->saved : shut_down();
}

// Until no begun ack of `stream` is being written (the Consumer takes one at a time); false if
// the node shut down meanwhile.
net::Awaitable<bool> await_ack_turn(const std::shared_ptr<NodeEngine>& engine,
                                    const std::shared_ptr<TopicStream>& stream) {
  while (stream->ack_writing()) {
    if (engine->is_shut_down()) co_return false;
    co_await stream->changed().wait_until(node::Clock::time_point::max());
  }
  co_return !engine->is_shut_down();
}

// Automatic acks: the application is done with the event it took last, so its ack is saved
// before the next event is handed out (what "acked once done" means across a crash).
// Earlier ones whose write failed go first, until one fails again.
net::Awaitable<void> settle(const std::shared_ptr<NodeEngine>& engine,
                            const std::shared_ptr<TopicStream>& stream) {
  for (;;) {
    auto turn = await_ack_turn(engine, stream);
    if (!co_await std::move(turn)) co_return;
    auto pending = stream->begin_settle();
    if (!pending) co_return;
    auto saving = save_cursor(engine, stream, pending->cursor);
    const Result<void> saved = co_await std::move(saving);
    stream->end_settle(*pending, saved);
    if (!saved) co_return;
  }
}

// The next event, waiting until `deadline`: nullopt when it passed first.
// nullopt also when `abandon` is set (on_node_cancellable).
net::Awaitable<Result<std::optional<RawEvent>>> next_event(std::shared_ptr<NodeEngine> engine,
                                                           std::shared_ptr<TopicStream> stream,
                                                           node::Clock::time_point deadline,
                                                           std::shared_ptr<Abandon> abandon = {}) {
  auto settling = settle(engine, stream);
  co_await std::move(settling);
  for (;;) {
    if (abandon && abandon->flag) co_return std::optional<RawEvent>{};
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

namespace {
// For on_node(_blocking)_cancellable. These run on the node thread, so they hold neither public
// handle: `engine` and `stream` are leases, and the last lease ending there would shut the node
// down from its own thread, which cannot join itself. The engine outlives the node thread's work.
std::function<void()> wake_of(const std::shared_ptr<TopicStream>& stream) {
  return [plain = stream->shared_from_this()] { plain->changed().notify_all(); };
}
std::function<void(RawEvent)> give_back_to(const std::shared_ptr<NodeEngine>& engine,
                                           const std::shared_ptr<TopicStream>& stream) {
  return [counters = &engine->counters(), plain = stream->shared_from_this()](RawEvent event) {
    counters->delivered.fetch_sub(std::holds_alternative<RawProcessed>(event));
    plain->give_back(std::move(event));
  };
}
}  // namespace

Awaitable<Result<RawEvent>> RawSubscription::next() {
  auto abandon = std::make_shared<Abandon>();
  // The body holds the plain engine and stream, not the public leases: if the caller gives up
  // and drops its handles, the body ending on the node thread must not shut the node down there.
  auto body = next_event(engine_->shared_from_this(), stream_->shared_from_this(),
                         node::Clock::time_point::max(), abandon);
  return on_node_cancellable<RawEvent>(engine_, abandon, std::move(body), wake_of(stream_),
                                       give_back_to(engine_, stream_));
}

Result<std::optional<RawEvent>> RawSubscription::next_blocking(std::chrono::milliseconds timeout) {
  const auto deadline = node::Clock::now() + timeout;
  auto abandon = std::make_shared<Abandon>();
  return on_node_blocking_cancellable<RawEvent>(
      engine_, abandon,
      next_event(engine_->shared_from_this(), stream_->shared_from_this(), deadline, abandon),
      wake_of(stream_), give_back_to(engine_, stream_), with_grace(timeout));
}

namespace {
// Explicit acks of operations in flight are awaited like automatic ones; any other id (one
// delivered before a restart, or acked already) takes Consumer::ack, which looks it up in the
// store and writes on the node thread.
net::Awaitable<Result<void>> ack_task(std::shared_ptr<NodeEngine> engine,
                                      std::shared_ptr<TopicStream> stream, Hash id) {
  auto turn = await_ack_turn(engine, stream);
  if (!co_await std::move(turn)) co_return shut_down();
  auto pending = stream->begin_ack(id);
  if (!pending) co_return stream->ack(id);
  auto saving = save_cursor(engine, stream, pending->cursor);
  Result<void> saved = co_await std::move(saving);
  stream->end_ack(*pending, saved);
  co_return saved;
}
}  // namespace

Awaitable<Result<void>> RawSubscription::ack(const Hash& id) {
  return on_node<void>(engine_, ack_task(engine_, stream_, id));
}

Result<void> RawSubscription::ack_blocking(const Hash& id) {
  return on_node_blocking<void>(engine_, ack_task(engine_, stream_, id));
}

namespace {
net::Awaitable<Result<bool>> nak_task(std::shared_ptr<TopicStream> stream, Hash id) {
  stream->nak(id, node::now_micros());
  co_return true;
}
}  // namespace

Awaitable<void> RawSubscription::nak(const Hash& id) {
  auto naking = on_node<bool>(engine_, nak_task(stream_, id));
  (void)co_await std::move(naking);
}

}  // namespace detail
}  // namespace p2panda
