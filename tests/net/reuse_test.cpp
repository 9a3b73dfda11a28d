// Connection reuse per (peer, ALPN), shared handshakes, and the connection limits.
#include <vector>

#include "net_test_util.hpp"

namespace p2panda::net::test {
namespace {

// Registers a handler that counts accepted connections and holds them until they close.
void count_accepted(Endpoint& server, std::string_view alpn, std::atomic<int>& accepted) {
  server.register_protocol(alpn_of(alpn), [&accepted](Connection connection) -> Awaitable<void> {
    ++accepted;
    co_await connection.closed();
  });
}

TEST(Reuse, ConnectReturnsTheEstablishedConnection) {
  auto server = make_endpoint();
  auto client = make_endpoint();
  std::atomic<int> accepted{0};
  count_accepted(server, "test/reuse", accepted);
  auto first = connect_on(client, server, "test/reuse");
  auto second = connect_on(client, server, "test/reuse");
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_TRUE(*first == *second);
  EXPECT_EQ(client.stats().open_connections, 1u);
  auto fresh = connect_on(client, server, "test/reuse", ConnectOptions{.reuse = false});
  ASSERT_TRUE(fresh.has_value());
  EXPECT_FALSE(*fresh == *first);
  EXPECT_EQ(client.stats().open_connections, 2u);
  EXPECT_TRUE(eventually([&] { return accepted.load() == 2; }));

  // A closed connection is never handed out again.
  close_on(client, *first);
  close_on(client, *fresh);
  auto third = connect_on(client, server, "test/reuse");
  ASSERT_TRUE(third.has_value());
  EXPECT_FALSE(*third == *first);
  EXPECT_FALSE(*third == *fresh);
  EXPECT_TRUE(eventually([&] { return accepted.load() == 3; }));
  close_on(client, *third);
}

TEST(Reuse, ConcurrentConnectsShareOneHandshake) {
  auto server = make_endpoint();
  auto client = make_endpoint();
  std::atomic<int> accepted{0};
  count_accepted(server, "test/reuse", accepted);
  constexpr int kConnects = 5;
  auto results = run_on(client.executor(), [&]() -> Awaitable<std::vector<Result<Connection>>> {
    // All five start before any handshake can finish (nothing runs until this coroutine waits).
    auto executor = co_await asio::this_coro::executor;
    auto out = std::make_shared<std::vector<std::optional<Result<Connection>>>>(kConnects);
    auto pending = std::make_shared<int>(kConnects);
    auto done =
        std::make_shared<asio::steady_timer>(executor, asio::steady_timer::time_point::max());
    for (int i = 0; i < kConnects; ++i) {
      asio::co_spawn(
          executor,
          [&client, &server, out, pending, done, i]() -> Awaitable<void> {
            auto result = co_await client.connect(server.local_address(), server.node_id(),
                                                  alpn_of("test/reuse"));
            (*out)[static_cast<std::size_t>(i)] = std::move(result);
            if (--*pending == 0) done->cancel();
          },
          asio::detached);
    }
    co_await done->async_wait(use_tuple);
    std::vector<Result<Connection>> all;
    for (auto& result : *out) all.push_back(std::move(*result));
    co_return all;
  }());
  ASSERT_TRUE(results.has_value()) << "timed out";
  ASSERT_EQ(results->size(), static_cast<std::size_t>(kConnects));
  for (auto& result : *results) ASSERT_TRUE(result.has_value()) << result.error().to_string();
  for (auto& result : *results) EXPECT_TRUE(*result == *(*results)[0]);
  EXPECT_EQ(client.stats().handshakes_completed, 1u);
  EXPECT_TRUE(eventually([&] { return accepted.load() == 1; }));
  close_on(client, *(*results)[0]);
}

TEST(Limits, OutgoingConnectionsPerPeerAreCapped) {
  TransportConfig transport;
  transport.max_connections_per_peer = 2;
  auto server = make_endpoint();
  auto client = make_endpoint(transport);
  std::atomic<int> accepted{0};
  count_accepted(server, "test/limit", accepted);
  auto a = connect_on(client, server, "test/limit", ConnectOptions{.reuse = false});
  auto b = connect_on(client, server, "test/limit", ConnectOptions{.reuse = false});
  ASSERT_TRUE(a.has_value() && b.has_value());
  auto c = run_on(client.executor(),
                  client.connect(server.local_address(), server.node_id(), alpn_of("test/limit"),
                                 ConnectOptions{.reuse = false}));
  ASSERT_TRUE(c.has_value());
  ASSERT_FALSE(c->has_value());
  EXPECT_EQ(c->error().code(), Errc::TooManyConnections) << c->error().to_string();
  // Reuse still works at the limit, and closing one frees a slot.
  auto reused = connect_on(client, server, "test/limit");
  ASSERT_TRUE(reused.has_value());
  close_on(client, *a);
  auto d = connect_on(client, server, "test/limit", ConnectOptions{.reuse = false});
  EXPECT_TRUE(d.has_value());
  close_on(client, *b);
  if (d) close_on(client, *d);
}

// A peer dialling again at its limit has usually lost its old connections (it restarted or
// changed networks) before we timed them out: the oldest it dialled is closed to make room.
TEST(Limits, IncomingConnectionOverThePerPeerLimitReplacesThePeersOldest) {
  TransportConfig transport;
  transport.max_connections_per_peer = 2;
  auto server = make_endpoint(transport);
  auto client = make_endpoint();
  std::atomic<int> accepted{0};
  count_accepted(server, "test/limit", accepted);
  std::vector<Connection> connections;
  for (int i = 0; i < 3; ++i) {
    auto connection = connect_on(client, server, "test/limit", ConnectOptions{.reuse = false});
    ASSERT_TRUE(connection.has_value());
    connections.push_back(*connection);
  }
  auto oldest_closed = run_on(client.executor(), connections[0].closed());
  ASSERT_TRUE(oldest_closed.has_value()) << "the oldest connection was not closed";
  EXPECT_EQ(oldest_closed->kind, CloseInfo::Kind::Transport);
  EXPECT_TRUE(oldest_closed->remote);
  EXPECT_EQ(oldest_closed->code, 0x2u);  // CONNECTION_REFUSED
  EXPECT_NE(oldest_closed->reason.find("replaced by a newer connection"), std::string::npos)
      << oldest_closed->reason;
  EXPECT_FALSE(connections[1].close_info().has_value());
  EXPECT_FALSE(connections[2].close_info().has_value());
  EXPECT_EQ(server.stats().connections_replaced, 1u);
  EXPECT_EQ(server.stats().connections_refused, 0u);
  EXPECT_EQ(accepted.load(), 3);
  close_on(client, connections[1]);
  close_on(client, connections[2]);
}

TEST(Limits, AFullEndpointRefusesNewConnectionsStatelessly) {
  TransportConfig transport;
  transport.max_connections = 1;
  auto server = make_endpoint(transport);
  auto first_client = make_endpoint();
  auto second_client = make_endpoint();
  std::atomic<int> accepted{0};
  count_accepted(server, "test/full", accepted);
  auto first = connect_on(first_client, server, "test/full");
  ASSERT_TRUE(first.has_value());
  auto second =
      run_on(second_client.executor(),
             second_client.connect(server.local_address(), server.node_id(), alpn_of("test/full")));
  ASSERT_TRUE(second.has_value()) << "timed out";
  ASSERT_FALSE(second->has_value());
  EXPECT_EQ(second->error().code(), Errc::ConnectionClosed) << second->error().to_string();
  EXPECT_NE(second->error().message().find("too many connections"), std::string::npos)
      << second->error().message();
  EXPECT_EQ(server.stats().open_connections, 1u);
  close_on(first_client, *first);
}

}  // namespace
}  // namespace p2panda::net::test
