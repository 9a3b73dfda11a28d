// What only the simulated network does: partitions, loss, seeded decisions, vanished nodes.
#include <future>

#include "transport_test_util.hpp"

namespace p2panda::net::test {
namespace {

const Bytes kProbe = bytes_of("test/probe");

// The acceptor answers one frame, then reports how its next read and the connection ended.
TransportHandler answer_then_report(std::shared_ptr<ResultBox> pending_read,
                                    std::shared_ptr<ResultBox> closed) {
  return [pending_read, closed](ConnectionHandle connection) -> Awaitable<void> {
    auto stream = co_await connection->accept_bi();
    if (!stream) co_return;
    auto frame = co_await read_frame(**stream, 1024);
    if (!frame || !*frame) co_return;
    auto written = co_await write_frame(**stream, **frame);
    if (!written) co_return;
    auto next = co_await read_frame(**stream, 1024);
    pending_read->put(next ? Result<void>{} : Result<void>{Unexpected{next.error()}});
    auto end = co_await connection->closed();
    closed->put(std::move(end));
  };
}

// Exchanges one frame, tells `ready`, then returns how the connection ended.
std::future<std::optional<Result<void>>> exchange_then_wait_closed(
    std::shared_ptr<Transport> client, PeerAddress server, std::shared_ptr<ResultBox> ready) {
  auto body = [](std::shared_ptr<Transport> from, PeerAddress to,
                 std::shared_ptr<ResultBox> exchanged) -> Awaitable<std::optional<Result<void>>> {
    auto connection = co_await from->connect(to, kProbe);
    if (!connection) co_return Result<void>{Unexpected{connection.error()}};
    auto stream = co_await (*connection)->open_bi();
    if (!stream) co_return Result<void>{Unexpected{stream.error()}};
    auto written = co_await write_frame(**stream, bytes_of("ping"));
    if (!written) co_return written;
    auto reply = co_await read_frame(**stream, 1024);
    if (!reply) co_return Result<void>{Unexpected{reply.error()}};
    exchanged->put(Result<void>{});
    auto closed = co_await (*connection)->closed();
    co_return closed;
  };
  auto executor = client->executor();
  return asio::co_spawn(executor, body(std::move(client), std::move(server), ready),
                        asio::use_future);
}

Awaitable<Errc> try_connect(std::shared_ptr<Transport> client, PeerAddress server) {
  auto connection = co_await client->connect(server, kProbe);
  if (!connection) co_return connection.error().code();
  (*connection)->close(0, "probe done");
  co_return Errc{};
}

TEST(SimTransport, PartitionBreaksConnectionsAndBlocksNewOnesUntilHeal) {
  TestNetwork network(Kind::Sim);
  auto server = network.add_node();
  auto client = network.add_node();
  auto pending_read = std::make_shared<ResultBox>();
  auto server_closed = std::make_shared<ResultBox>();
  server->register_protocol(kProbe, answer_then_report(pending_read, server_closed));
  auto ready = std::make_shared<ResultBox>();
  auto client_closed = exchange_then_wait_closed(client, TestNetwork::address_of(*server), ready);
  ASSERT_TRUE(ready->take().has_value()) << "no exchange before the partition";

  network.hub()->partition({{server->node_id()}, {client->node_id()}},
                           std::chrono::milliseconds(100));
  EXPECT_FALSE(network.hub()->reachable(server->node_id(), client->node_id()));
  ASSERT_EQ(client_closed.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto ours = client_closed.get();
  ASSERT_TRUE(ours.has_value() && !ours->has_value()) << "a partition must end in an error";
  EXPECT_EQ(ours->error().code(), Errc::ConnectionLost);
  EXPECT_NE(ours->error().message().find("partition"), std::string::npos)
      << ours->error().message();
  auto read = pending_read->take();
  ASSERT_TRUE(read.has_value()) << "the server's pending read never ended";
  EXPECT_FALSE(read->has_value());
  auto theirs = server_closed->take();
  ASSERT_TRUE(theirs.has_value());
  EXPECT_FALSE(theirs->has_value());

  auto blocked = run_on(client->executor(), try_connect(client, TestNetwork::address_of(*server)));
  ASSERT_TRUE(blocked.has_value()) << "timed out";
  EXPECT_EQ(*blocked, Errc::Io);

  network.hub()->heal();
  auto healed = run_on(client->executor(), try_connect(client, TestNetwork::address_of(*server)));
  ASSERT_TRUE(healed.has_value()) << "timed out";
  EXPECT_EQ(*healed, Errc{}) << errc_name(*healed);
  client.reset();
  server.reset();
}

TEST(SimTransport, UnknownNodeIsUnreachable) {
  TestNetwork network(Kind::Sim);
  auto client = network.add_node();
  PeerAddress nobody{PrivateKey::generate().public_key(), {}};
  auto result = run_on(client->executor(), try_connect(client, nobody));
  ASSERT_TRUE(result.has_value()) << "timed out";
  EXPECT_EQ(*result, Errc::Io);
}

TEST(SimTransport, VanishedNodeIsNoticedAfterTheDetectDelay) {
  SimHubConfig config;
  config.detect_after = std::chrono::milliseconds(100);
  TestNetwork network(Kind::Sim, config);
  auto server = network.add_node();
  auto client = network.add_node();
  auto pending_read = std::make_shared<ResultBox>();
  auto server_closed = std::make_shared<ResultBox>();
  server->register_protocol(kProbe, answer_then_report(pending_read, server_closed));
  auto ready = std::make_shared<ResultBox>();
  auto address = TestNetwork::address_of(*server);
  auto client_closed = exchange_then_wait_closed(client, address, ready);
  ASSERT_TRUE(ready->take().has_value());

  server.reset();  // the node leaves the network abruptly
  auto theirs = server_closed->take();
  ASSERT_TRUE(theirs.has_value());
  EXPECT_FALSE(theirs->has_value()) << "the leaving node's own connections end with an error";
  ASSERT_EQ(client_closed.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto ours = client_closed.get();
  ASSERT_TRUE(ours.has_value() && !ours->has_value());
  EXPECT_EQ(ours->error().code(), Errc::ConnectionLost);
  auto again = run_on(client->executor(), try_connect(client, address));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, Errc::Io);
}

struct TransferOutcome {
  bool intact = false;
  SimNodeStats sender;
};

// Sends `size` bytes from a new node to another over a hub with `config` (and `pair_link`
// between the two, when given).
TransferOutcome transfer(SimHubConfig config, std::size_t size,
                         std::optional<LinkConfig> pair_link = std::nullopt) {
  TestNetwork network(Kind::Sim, config);
  auto server = network.add_node();
  auto client = network.add_node();
  if (pair_link) network.hub()->set_link(client->node_id(), server->node_id(), *pair_link);
  auto box = std::make_shared<BytesBox>();
  server->register_protocol(kProbe, sink_into(box));
  Bytes data = pattern(size, 11);
  auto sent = run_on(client->executor(),
                     send_all(client, TestNetwork::address_of(*server), kProbe, data, 64 * 1024),
                     std::chrono::seconds(60));
  EXPECT_TRUE(sent.has_value()) << "timed out";
  if (!sent) return {};
  EXPECT_TRUE(sent->has_value()) << sent->error().to_string();
  auto received = box->take();
  TransferOutcome outcome;
  outcome.intact = received && received->has_value() && **received == data;
  outcome.sender = static_cast<SimTransport&>(*client).stats();
  return outcome;
}

TEST(SimTransport, FivePercentLossStillDeliversIntact) {
  SimHubConfig config;
  config.seed = 5;
  config.link.loss = 0.05;
  config.link.jitter = std::chrono::microseconds(500);
  auto outcome = transfer(config, 2 << 20);
  EXPECT_TRUE(outcome.intact);
  EXPECT_GT(outcome.sender.retransmissions, 0u);
  // Retransmitted packets cost their bytes again.
  EXPECT_GT(outcome.sender.bytes_sent, std::uint64_t{2 << 20});
  EXPECT_GT(outcome.sender.messages_sent, (2u << 20) / (16u * 1024));
  EXPECT_EQ(outcome.sender.connections_opened, 1u);
}

TEST(SimTransport, SameSeedMakesSameLossDecisions) {
  SimHubConfig config;
  config.seed = 42;
  config.link.loss = 0.2;
  auto first = transfer(config, 512 * 1024);
  auto second = transfer(config, 512 * 1024);
  ASSERT_TRUE(first.intact && second.intact);
  EXPECT_GT(first.sender.retransmissions, 0u);
  EXPECT_EQ(first.sender.retransmissions, second.sender.retransmissions);
  EXPECT_EQ(first.sender.messages_sent, second.sender.messages_sent);
  EXPECT_EQ(first.sender.bytes_sent, second.sender.bytes_sent);
}

TEST(SimTransport, PairLinkOverridesTheDefault) {
  SimHubConfig config;
  config.seed = 9;
  auto clean = transfer(config, 256 * 1024);
  EXPECT_TRUE(clean.intact);
  EXPECT_EQ(clean.sender.retransmissions, 0u);
  LinkConfig lossy;
  lossy.loss = 0.3;
  lossy.bytes_per_second = 64 << 20;
  auto lossy_run = transfer(config, 256 * 1024, lossy);
  EXPECT_TRUE(lossy_run.intact);
  EXPECT_GT(lossy_run.sender.retransmissions, 0u);
}

}  // namespace
}  // namespace p2panda::net::test
