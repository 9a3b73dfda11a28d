// An awaitable next() raced against a timer (`next() || timer`), the way an application gives a
// wait a limit: the cancelled next() takes nothing, so every operation still arrives exactly
// once, and the subscription goes on. Before, the cancellation reached the node's own coroutine,
// which threw out of its next co_await: an automatic ack begun there was never ended, and every
// later next() waited for it for ever, or an event it had taken was thrown away by the `||`.
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>

#include <random>
#include <thread>

#include "../store/store_fixture.hpp"
#include "node_fixture.hpp"

namespace p2panda::test {
namespace {

using namespace asio::experimental::awaitable_operators;

struct Raced {
  std::vector<std::string> received;
  std::size_t cancelled = 0;  // next() lost to the timer
  std::size_t errors = 0;     // anything but Cancelled
};

// Races next() against timers of 0-2 ms until `want` messages came or `deadline` passed.
Awaitable<void> race(Subscription<std::string>& subscription, std::size_t want,
                     std::chrono::steady_clock::time_point deadline, Raced& out) {
  auto executor = co_await asio::this_coro::executor;
  std::mt19937 random(7);
  while (out.received.size() < want && std::chrono::steady_clock::now() < deadline) {
    asio::steady_timer timer(executor, std::chrono::microseconds(random() % 2000));
    auto racing = subscription.next() || timer.async_wait(asio::use_awaitable);
    auto winner = co_await std::move(racing);
    if (winner.index() == 1) {
      ++out.cancelled;
      continue;
    }
    auto& event = std::get<0>(winner);
    if (!event) {
      ++out.errors;
      continue;
    }
    if (auto* processed = std::get_if<Processed<std::string>>(&*event)) {
      out.received.push_back(processed->message);
    }
  }
}

class CancelledNext : public testing::TestWithParam<AckPolicy> {};

TEST_P(CancelledNext, LosesNothingAndTheStreamGoesOn) {
  TempDir dir;
  auto node = p2panda::builder()
                  .database_url("sqlite:" + dir.file("node.db"))  // cursor writes take a while
                  .bind_v4("127.0.0.1")
                  .mdns_mode(MdnsMode::Disabled)
                  .ack_policy(GetParam())
                  .spawn_blocking();
  ASSERT_OK(node);
  auto stream = node->stream_blocking<std::string>(Topic::random());
  ASSERT_OK(stream);
  constexpr std::size_t kMessages = 300;
  std::thread publisher([&] {
    for (std::size_t i = 0; i < kMessages; ++i) {
      ASSERT_OK(stream->publisher.publish_blocking("m" + std::to_string(i)));
    }
  });
  Raced raced;
  asio::io_context io;
  asio::co_spawn(io, race(stream->subscription, kMessages,
                          std::chrono::steady_clock::now() + 60s, raced),
                 asio::detached);
  io.run();
  publisher.join();
  EXPECT_EQ(raced.errors, 0u);
  EXPECT_GT(raced.cancelled, 0u) << "no next() was cancelled: the test raced nothing";
  // What the races did not get still comes, and nothing came twice.
  const auto rest = messages(stream->subscription, kMessages - raced.received.size(), 10s);
  raced.received.insert(raced.received.end(), rest.begin(), rest.end());
  std::vector<std::string> published;
  for (std::size_t i = 0; i < kMessages; ++i) published.push_back("m" + std::to_string(i));
  EXPECT_EQ(raced.received, published);  // each once, in order
}

// The blocking next(timeout) when the node does not answer in time (its thread busy for longer
// than timeout + 5 s): the call says Io, and the event it would have taken stays for the next
// call. Before, the node's side ran on after the caller left and took the event into a future
// nobody read: it was lost.
TEST(CancelledNext, ABlockingNextThatGivesUpTakesNothing) {
  auto hub = net::SimHub::create();
  asio::any_io_executor node_executor;
  NodeBuilder builder = p2panda::builder();
  builder.mdns_mode(MdnsMode::Disabled);
  builder.config().transport_factory = [&](const PrivateKey& key, asio::any_io_executor executor)
      -> Result<std::shared_ptr<net::Transport>> {
    node_executor = executor;
    return hub->add(key, executor);
  };
  auto node = builder.spawn_blocking();
  ASSERT_OK(node);
  auto stream = node->stream_blocking<std::string>(Topic::random());
  ASSERT_OK(stream);
  ASSERT_OK(stream->publisher.publish_blocking("kept"));  // its delivery is queued first
  std::promise<void> unblock;
  auto blocked = unblock.get_future().share();
  asio::post(node_executor, [blocked] { blocked.wait(); });  // the node's thread, busy
  auto given_up = stream->subscription.next(0ms);
  ASSERT_FALSE(given_up);
  EXPECT_EQ(given_up.error().code(), Errc::Io) << given_up.error().to_string();
  unblock.set_value();
  EXPECT_EQ(messages(stream->subscription, 1, 5s), std::vector<std::string>{"kept"});
}

INSTANTIATE_TEST_SUITE_P(Acks, CancelledNext,
                         testing::Values(AckPolicy::Automatic, AckPolicy::Explicit),
                         [](const testing::TestParamInfo<AckPolicy>& param) {
                           return param.param == AckPolicy::Automatic ? "Automatic" : "Explicit";
                         });

}  // namespace
}  // namespace p2panda::test
