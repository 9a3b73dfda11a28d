// A topic dropped while a peer is in the middle of the sync handshake with us. The handshake has
// no message for "never mind", so the session finishes it and sends Close at once: the peer sees
// a graceful end. Before, the stream just ended, which the peer can only take for a failure (a
// rejected handshake and its backoff, or SyncClosedUnexpectedly). A raw peer on the simulated
// network speaks the handshake by hand, so that the drop lands between its two steps.
#include <future>
#include <optional>

#include "raw_sync_peer.hpp"

namespace p2panda::test {
namespace {

using namespace std::chrono_literals;

struct RawSession {
  std::vector<sync::TopicLogSyncMessage> received;  // after the handshake, in order
  std::optional<std::string> error;                 // what went wrong, if anything
};

TEST(HandshakeDrop, ATopicDroppedMidHandshakeStillEndsWithAClose) {
  Nodes nodes(Net::Sim);
  auto& a = nodes.add();
  const Topic topic = Topic::random();
  std::optional<Stream<std::string>> on_a = hold_stream(a, topic);
  ASSERT_TRUE(on_a.has_value());

  RawPeer raw(nodes);
  std::promise<void> halfway, dropped;
  auto dropped_future = dropped.get_future();
  auto peer = [&]() -> net::Awaitable<RawSession> {
    RawSession out;
    auto connection = co_await connect_sync(raw.transport(), a);
    if (!connection) co_return RawSession{{}, connection.error().to_string()};
    auto stream = co_await name_topic(*connection, topic);
    if (!stream) co_return RawSession{{}, stream.error().to_string()};
    halfway.set_value();
    // a drops the topic now. Blocking this thread is fine: nothing of ours needs to run.
    dropped_future.wait();
    (void)co_await send_done(**stream);
    while (true) {
      auto reading = net::read_frame(**stream, 1 << 20);
      auto frame = co_await std::move(reading);
      if (!frame) co_return RawSession{std::move(out.received), frame.error().to_string()};
      if (!*frame) co_return RawSession{std::move(out.received), "the stream ended without Close"};
      auto message = sync::decode_topic_log_sync(**frame);
      if (!message) co_return RawSession{std::move(out.received), message.error().to_string()};
      out.received.push_back(std::move(*message));
      if (std::holds_alternative<sync::Close>(out.received.back())) break;
    }
    auto closing = (*stream)->finish();  // as a real peer does on Close
    (void)co_await std::move(closing);
    co_return out;
  };
  auto result = raw.spawn(peer());
  const bool reached = halfway.get_future().wait_for(10s) == std::future_status::ready;
  if (reached) {
    on_a.reset();  // publisher and subscription: a stops following the topic
    // Handled on a's node thread in order: once this returns, so was the drop.
    EXPECT_TRUE(a.stream_blocking<std::string>(Topic::random()));
  }
  dropped.set_value();
  const bool ended = result.wait_for(10s) == std::future_status::ready;
  raw.stop();
  ASSERT_TRUE(reached) << "the handshake did not get halfway";
  ASSERT_TRUE(ended) << "the raw peer timed out";
  const RawSession session = result.get();
  EXPECT_FALSE(session.error.has_value()) << *session.error;
  ASSERT_EQ(session.received.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<sync::Have>(session.received[0]));
  EXPECT_TRUE(std::holds_alternative<sync::Close>(session.received[1]));
}

// The same drop, after which the peer gives up on the handshake (resets the stream instead of
// sending its Done): we had given up on the session first, so this is no failure of ours (no
// failed-session count, and no SyncSessionFailed with a backoff for the peer).
TEST(HandshakeDrop, APeerLeavingAHandshakeWeDroppedIsNoFailure) {
  Nodes nodes(Net::Sim);
  auto& a = nodes.add();
  const Topic topic = Topic::random();
  std::optional<Stream<std::string>> on_a = hold_stream(a, topic);
  ASSERT_TRUE(on_a.has_value());
  auto events = a.event_stream_blocking();
  ASSERT_TRUE(events);

  RawPeer raw(nodes);
  std::promise<void> halfway, dropped;
  auto dropped_future = dropped.get_future();
  // "" once a refused a second handshake for the dropped topic, after the first was reset.
  auto peer = [&]() -> net::Awaitable<std::string> {
    auto connection = co_await connect_sync(raw.transport(), a);
    if (!connection) co_return connection.error().to_string();
    auto first = co_await name_topic(*connection, topic);
    if (!first) co_return first.error().to_string();
    halfway.set_value();
    dropped_future.wait();
    (*first)->abort(7);  // give up instead of sending our Done
    // On the same connection, after the reset: a handles them in this order.
    auto second = co_await name_topic(*connection, topic);
    if (second) co_return "a answered a handshake for a topic it dropped";
    co_return "";
  };
  auto result = raw.spawn(peer());
  const bool reached = halfway.get_future().wait_for(10s) == std::future_status::ready;
  const std::uint64_t failed_before = a.metrics().sync_sessions_failed;
  if (reached) {
    on_a.reset();
    // Handled on a's node thread in order: once this returns, so was the drop. (Not a stream of
    // another topic: a would dial the raw peer for it, which fails, and counts.)
    EXPECT_TRUE(a.event_stream_blocking());
  }
  dropped.set_value();
  const bool ended = result.wait_for(10s) == std::future_status::ready;
  raw.stop();
  ASSERT_TRUE(reached) << "the handshake did not get halfway";
  ASSERT_TRUE(ended) << "the raw peer timed out";
  EXPECT_EQ(result.get(), "");
  EXPECT_EQ(a.metrics().sync_sessions_failed, failed_before);
  // No SyncSessionFailed for the raw peer: everything a emitted so far, without waiting.
  while (auto event = events->next(std::chrono::milliseconds(0))) {
    if (!*event) break;
    const auto* failed = std::get_if<SyncSessionFailed>(&**event);
    EXPECT_TRUE(failed == nullptr) << failed->error.to_string();
  }
}

// Dropped mid-handshake and opened again before the peer's Done came: the session is wanted
// again, so it runs as any other (no Close) and carries what a publishes.
TEST(HandshakeDrop, OpeningTheTopicAgainMidHandshakeKeepsTheSession) {
  Nodes nodes(Net::Sim);
  auto& a = nodes.add();
  const Topic topic = Topic::random();
  std::optional<Stream<std::string>> on_a = hold_stream(a, topic);
  ASSERT_TRUE(on_a.has_value());

  RawPeer raw(nodes);
  std::promise<void> halfway, reopened;
  auto reopened_future = reopened.get_future();
  // "" once an operation of a's arrived before any Close.
  auto peer = [&]() -> net::Awaitable<std::string> {
    auto connection = co_await connect_sync(raw.transport(), a);
    if (!connection) co_return connection.error().to_string();
    auto stream = co_await name_topic(*connection, topic);
    if (!stream) co_return stream.error().to_string();
    halfway.set_value();
    reopened_future.wait();
    // Our Done, then our side of the sync phase: nothing to offer.
    if (auto done = co_await send_done(**stream); !done) co_return "write failed";
    const auto have = sync::encode_topic_log_sync(sync::Have{});
    const auto synced = sync::encode_topic_log_sync(sync::SyncDone{});
    if (!have || !synced) co_return "encoding failed";
    for (const Bytes* frame : {&*have, &*synced}) {
      auto writing = net::write_frame(**stream, *frame);
      if (auto written = co_await std::move(writing); !written) co_return "write failed";
    }
    while (true) {
      auto reading = net::read_frame(**stream, 1 << 20);
      auto frame = co_await std::move(reading);
      if (!frame) co_return frame.error().to_string();
      if (!*frame) co_return "the stream ended";
      auto message = sync::decode_topic_log_sync(**frame);
      if (!message) co_return message.error().to_string();
      if (std::holds_alternative<sync::Close>(*message)) co_return "a closed the session";
      if (std::holds_alternative<sync::Live>(*message) ||
          std::holds_alternative<sync::SyncOperation>(*message)) {
        co_return "";
      }
    }
  };
  auto result = raw.spawn(peer());
  const bool reached = halfway.get_future().wait_for(10s) == std::future_status::ready;
  std::optional<Stream<std::string>> again;
  if (reached) {
    on_a.reset();  // dropped: the session would close right after its handshake
    auto opened = a.stream_blocking<std::string>(topic);  // wanted again
    EXPECT_TRUE(opened);
    if (opened) {
      again.emplace(std::move(*opened));
      EXPECT_TRUE(again->publisher.publish_blocking("after the drop"));
    }
  }
  reopened.set_value();
  const bool ended = result.wait_for(10s) == std::future_status::ready;
  raw.stop();
  ASSERT_TRUE(reached) << "the handshake did not get halfway";
  ASSERT_TRUE(ended) << "the raw peer timed out";
  EXPECT_EQ(result.get(), "");
}

// A stream that ends before it names a topic (a peer that lost a dial race, say) is no session
// and no failure. Before, its watchdog still fired a sync timeout later and counted a failed
// session. A second handshake, left unfinished, times out after it and is the one that counts.
TEST(HandshakeDrop, AStreamEndingBeforeItNamesATopicIsNoFailure) {
  Nodes nodes(Net::Sim);
  auto& a = nodes.add([](NodeBuilder& builder) {
    builder.config().session.sync_timeout = 300'000;  // 300 ms
  });
  const Topic topic = Topic::random();
  std::optional<Stream<std::string>> on_a = hold_stream(a, topic);
  ASSERT_TRUE(on_a.has_value());
  auto events = a.event_stream_blocking();
  ASSERT_TRUE(events);
  const std::uint64_t failed_before = a.metrics().sync_sessions_failed;
  RawPeer raw(nodes);
  std::promise<void> release;
  auto peer = [&]() -> net::Awaitable<std::string> {
    auto connection = co_await connect_sync(raw.transport(), a);
    if (!connection) co_return connection.error().to_string();
    auto opening = (*connection)->open_bi();
    auto empty = co_await std::move(opening);
    if (!empty) co_return empty.error().to_string();
    auto finishing = (*empty)->finish();
    (void)co_await std::move(finishing);
    auto second = co_await name_topic(*connection, topic);  // never sends its Done
    if (!second) co_return second.error().to_string();
    co_await asio::post(asio::use_awaitable);
    release.get_future().wait();  // holds the stream (and this thread) until the test is done
    co_return "";
  };
  auto result = raw.spawn(peer());
  std::optional<SyncSessionFailed> failed;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!failed && std::chrono::steady_clock::now() < deadline) {
    auto event = events->next(100ms);
    ASSERT_TRUE(event);
    if (*event) {
      if (auto* failure = std::get_if<SyncSessionFailed>(&**event)) failed = *failure;
    }
  }
  ASSERT_TRUE(failed.has_value()) << "the unfinished handshake never timed out";
  EXPECT_EQ(failed->error.code(), Errc::SyncTimeout) << failed->error.to_string();
  EXPECT_EQ(a.metrics().sync_sessions_failed, failed_before + 1);
  release.set_value();
  raw.stop();
}

}  // namespace
}  // namespace p2panda::test
