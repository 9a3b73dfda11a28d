// A sync session whose peer does not read what the node sends (a slow or stuck peer, or one
// with a large history to send first): what the peer sends still goes into the store and out to
// the subscription as it arrives, at most 256 waiting at a time, and the session's sync timeout
// still counts. Before, a session handled what it received only between its own writes: with
// the stream's window full, the peer's operations piled up in memory, unstored and unreported,
// and a peer that then fell silent held the session for good.
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "../store/store_fixture.hpp"
#include "raw_sync_peer.hpp"

namespace p2panda::test {
namespace {

constexpr std::size_t kOwn = 1500;     // ~400 KB to send: more than the stream window (256 KiB)
constexpr std::size_t kTheirs = 300;

// The peer's side: the handshake, then Have (it holds nothing), PreSync and its own operations
// (or only the Have); it never reads, and holds the stream open until `release` is set.
net::Awaitable<Result<void>> send_without_reading(net::Transport& raw, Node& node,
                                                  const Topic& topic,
                                                  const std::vector<Operation>& theirs,
                                                  std::shared_future<void> release,
                                                  bool only_have = false) {
  auto connecting = connect_sync(raw, node);
  auto connection = co_await std::move(connecting);
  if (!connection) co_return Unexpected{connection.error()};
  auto naming = name_topic(*connection, topic);
  auto stream = co_await std::move(naming);
  if (!stream) co_return Unexpected{stream.error()};
  auto finishing = send_done(**stream);
  if (auto done = co_await std::move(finishing); !done) co_return done;
  std::vector<sync::TopicLogSyncMessage> messages{sync::Have{}};
  if (!only_have) {
    std::uint32_t bytes = 0;
    for (const auto& operation : theirs) {
      bytes += static_cast<std::uint32_t>(operation.header_bytes().size() +
                                          operation.body()->bytes().size());
    }
    messages.push_back(sync::PreSync{static_cast<std::uint32_t>(theirs.size()), bytes});
    for (const auto& operation : theirs) {
      messages.push_back(sync::SyncOperation{operation.header_bytes(), operation.body()->bytes()});
    }
    messages.push_back(sync::SyncDone{});
  }
  for (const auto& message : messages) {
    auto payload = sync::encode_topic_log_sync(message);
    if (!payload) co_return Unexpected{payload.error()};
    auto writing = net::write_frame(**stream, *payload);
    if (auto written = co_await std::move(writing); !written) co_return written;
  }
  while (release.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) {
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(20));
    co_await timer.async_wait(asio::use_awaitable);
  }
  co_return Result<void>{};
}

// A stream of `topic` on `node` after kOwn publishes of ~200 bytes, each taken from its
// subscription already (what comes next is the peer's).
std::optional<Stream<std::string>> filled_stream(Node& node, const Topic& topic) {
  auto stream = hold_stream(node, topic);
  if (!stream) return std::nullopt;
  const std::string filler(200, 'x');
  for (std::size_t i = 0; i < kOwn; ++i) {
    if (!stream->publisher.publish_blocking(filler)) return std::nullopt;
  }
  if (messages(stream->subscription, kOwn).size() != kOwn) return std::nullopt;
  return stream;
}

TEST(SendBlocked, WhatThePeerSendsIsStoredWhileTheNodeCannotSend) {
  Nodes nodes(Net::Sim);
  Node& node = nodes.add();
  const Topic topic = Topic::random();
  auto stream = filled_stream(node, topic);
  ASSERT_TRUE(stream);

  LogWriter peer_log(PrivateKey::generate(), topic);
  std::vector<Operation> theirs;
  for (std::size_t i = 0; i < kTheirs; ++i) {
    theirs.push_back(peer_log.next(Body(Codec<std::string>::encode("p" + std::to_string(i)))));
  }
  RawPeer raw(nodes);
  std::promise<void> release;
  auto peer = raw.spawn(send_without_reading(raw.transport(), node, topic, theirs,
                                             release.get_future().share()));
  std::vector<std::string> expected;
  for (std::size_t i = 0; i < kTheirs; ++i) expected.push_back("p" + std::to_string(i));
  EXPECT_EQ(messages(stream->subscription, kTheirs, 20s), expected)
      << "the peer's operations did not come while the node could not send";
  release.set_value();
  EXPECT_TRUE(peer.get());
  raw.stop();
}

// The same peer, silent after its Have: the session's sync timeout ends it, though the node
// is still waiting to write.
net::Awaitable<Result<void>> only_have(net::Transport& raw, Node& node, const Topic& topic,
                                       std::shared_future<void> release) {
  return send_without_reading(raw, node, topic, {}, std::move(release), /*only_have=*/true);
}

TEST(SendBlocked, ASilentPeerStillTimesOut) {
  Nodes nodes(Net::Sim);
  Node& node = nodes.add([](NodeBuilder& builder) {
    builder.config().session.sync_timeout = 1'000'000;  // 1 s
  });
  const Topic topic = Topic::random();
  auto stream = filled_stream(node, topic);
  ASSERT_TRUE(stream);
  RawPeer raw(nodes);
  std::promise<void> release;
  auto peer = raw.spawn(only_have(raw.transport(), node, topic, release.get_future().share()));
  std::optional<SyncEnded> ended;
  collect<std::string>(
      stream->subscription,
      [&](const auto& event) {
        if (auto* end = std::get_if<SyncEnded>(&event)) ended = *end;
        return ended.has_value();
      },
      10s);
  ASSERT_TRUE(ended.has_value()) << "the session never timed out";
  ASSERT_TRUE(ended->error.has_value());
  EXPECT_EQ(ended->error->code(), Errc::SyncTimeout) << ended->error->to_string();
  release.set_value();
  (void)peer.get();
  raw.stop();
}

}  // namespace
}  // namespace p2panda::test
