// Both sides dial at once for the same topic: the session started by the lower node id wins on
// both sides, and the other ends during its handshake. That is how the race is settled, not a
// failure: the failed-session count stays as it was (the session was already kept from
// SyncSessionFailed and backoff). A raw peer with a lower id than the node's holds the node's
// handshake unanswered and opens its own session meanwhile.
#include <atomic>
#include <future>
#include <optional>

#include "raw_sync_peer.hpp"

namespace p2panda::test {
namespace {

using namespace std::chrono_literals;

TEST(DialRace, LosingASimultaneousDialIsNoFailure) {
  Nodes nodes(Net::Sim);
  auto& a = nodes.add();
  const Topic topic = Topic::random();
  std::optional<Stream<std::string>> on_a = hold_stream(a, topic);
  ASSERT_TRUE(on_a.has_value());

  PrivateKey key = PrivateKey::generate();
  while (!(key.public_key() < a.id())) key = PrivateKey::generate();
  RawPeer raw(nodes, key);
  const Bytes alpn = protocol_alpn("p2panda/log_sync/v1", a.network_id());
  // a's own dial: its stream is held, its handshake never answered.
  std::promise<void> dialled;
  std::atomic<bool> seen{false};
  std::vector<net::StreamHandle> held;
  raw.transport().register_protocol(alpn, [&](net::ConnectionHandle connection) -> net::Awaitable<void> {
    auto accepting = connection->accept_bi();
    auto stream = co_await std::move(accepting);
    if (!stream) co_return;
    auto reading = net::read_frame(**stream, 1024);
    auto hello = co_await std::move(reading);
    if (!hello || !*hello) co_return;
    held.push_back(*stream);
    if (!seen.exchange(true)) dialled.set_value();
    auto closing = connection->closed();
    co_await std::move(closing);
  });
  auto introduced = a.insert_bootstrap(raw.transport().node_id(), {});
  EXPECT_TRUE(introduced.has_value()) << introduced.error().to_string();
  const bool a_dialled =
      introduced && dialled.get_future().wait_for(10s) == std::future_status::ready;
  const std::uint64_t failed_before = a.metrics().sync_sessions_failed;
  std::string outcome = "a never dialled";
  if (a_dialled) {
    // Our session, while a's waits for our Done: a ends its own and takes ours.
    auto peer = [&]() -> net::Awaitable<std::string> {
      auto connection = co_await connect_sync(raw.transport(), a);
      if (!connection) co_return "connect: " + connection.error().to_string();
      auto stream = co_await name_topic(*connection, topic);
      if (!stream) co_return "handshake: " + stream.error().to_string();
      if (auto done = co_await send_done(**stream); !done) co_return done.error().to_string();
      co_return "";
    };
    auto result = raw.spawn(peer());
    outcome = result.wait_for(10s) == std::future_status::ready ? result.get() : "timed out";
  }
  const std::uint64_t failed_after = a.metrics().sync_sessions_failed;
  raw.stop();
  ASSERT_TRUE(a_dialled) << outcome;
  EXPECT_EQ(outcome, "");
  EXPECT_EQ(failed_after, failed_before);
}

}  // namespace
}  // namespace p2panda::test
