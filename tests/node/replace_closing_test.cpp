// A peer opens a new session for a topic while our previous one with it is closing (we dropped
// the topic, sent Close, and opened the topic again before the peer's Close came back). The new
// session replaces the old one, as any later session from the same peer does, but the old one
// had already ended on our side: it finishes its stream instead of resetting it, and is not a
// failure (no SyncEnded with an error, no failed-session count). A raw peer on the simulated
// network speaks the protocol by hand so that the second session arrives at that moment.
#include <future>
#include <optional>

#include "raw_sync_peer.hpp"

namespace p2panda::test {
namespace {

using namespace std::chrono_literals;

// The whole handshake as its initiator.
net::Awaitable<Result<net::StreamHandle>> handshake(net::ConnectionHandle connection,
                                                    const Topic& topic) {
  auto stream = co_await name_topic(std::move(connection), topic);
  if (!stream) co_return stream;
  if (auto done = co_await send_done(**stream); !done) co_return Unexpected{done.error()};
  co_return stream;
}

TEST(ReplaceClosing, ASessionReplacedWhileClosingEndsGracefully) {
  Nodes nodes(Net::Sim);
  auto& a = nodes.add();
  const Topic topic = Topic::random();
  std::optional<Stream<std::string>> on_a = hold_stream(a, topic);
  ASSERT_TRUE(on_a.has_value());

  RawPeer raw(nodes);
  std::promise<void> closed_by_a, reopened;
  auto reopened_future = reopened.get_future();
  // What the first stream showed after the second session was accepted: "" for a clean end.
  auto peer = [&]() -> net::Awaitable<std::string> {
    auto connection = co_await connect_sync(raw.transport(), a);
    if (!connection) co_return "connect: " + connection.error().to_string();
    auto first = co_await handshake(*connection, topic);
    if (!first) co_return "first handshake: " + first.error().to_string();
    // Read until a's Close (it drops the topic meanwhile), and do not answer it.
    bool got_close = false;
    while (!got_close) {
      auto reading = net::read_frame(**first, 1 << 20);
      auto frame = co_await std::move(reading);
      if (!frame || !*frame) co_return "first stream ended before a's Close";
      auto message = sync::decode_topic_log_sync(**frame);
      if (!message) co_return message.error().to_string();
      got_close = std::holds_alternative<sync::Close>(*message);
      if (std::holds_alternative<sync::Have>(*message)) closed_by_a.set_value();
    }
    reopened_future.wait();  // a follows the topic again; blocking here is fine
    auto second = co_await handshake(*connection, topic);
    if (!second) co_return "second handshake: " + second.error().to_string();
    // The second session was claimed before its Done came back: the first has ended by now.
    auto reading = net::read_frame(**first, 1 << 20);
    auto rest = co_await std::move(reading);
    if (!rest) co_return "first stream: " + rest.error().to_string();
    if (*rest) co_return "first stream: a frame after Close";
    co_return "";
  };
  auto result = raw.spawn(peer());
  const bool synced = closed_by_a.get_future().wait_for(10s) == std::future_status::ready;
  const std::uint64_t failed_before = a.metrics().sync_sessions_failed;
  std::optional<Stream<std::string>> again;
  if (synced) {
    on_a.reset();  // a drops the topic: its session sends Close
    auto opened = a.stream_blocking<std::string>(topic);
    EXPECT_TRUE(opened);
    if (opened) again.emplace(std::move(*opened));
  }
  reopened.set_value();
  const bool ended = result.wait_for(10s) == std::future_status::ready;
  raw.stop();
  ASSERT_TRUE(synced) << "the first session did not start";
  ASSERT_TRUE(ended) << "the raw peer timed out";
  const std::string outcome = result.get();
  EXPECT_EQ(outcome, "");
  EXPECT_EQ(a.metrics().sync_sessions_failed, failed_before);
  // The stream opened again hears how the old session ended (the new one is still running).
  ASSERT_TRUE(again.has_value());
  auto events = collect<std::string>(
      again->subscription,
      [](const StreamEvent<std::string>& event) { return std::holds_alternative<SyncEnded>(event); },
      5s);
  ASSERT_EQ(count_of<SyncEnded>(events), 1u);
  const auto& old_session = std::get<SyncEnded>(events.back());
  EXPECT_FALSE(old_session.error.has_value()) << old_session.error->to_string();
}

}  // namespace
}  // namespace p2panda::test
