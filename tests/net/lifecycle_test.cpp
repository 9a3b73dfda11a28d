// Connection lifecycle: graceful close seen by the peer, an endpoint shutting down telling its
// peers at once, a vanished peer surfacing as ConnectionLost within the idle timeout, and
// keep-alive holding an idle connection open.
#include <optional>

#include "net/notifier.hpp"
#include "net_test_util.hpp"
#include "udp_relay.hpp"

namespace p2panda::net::test {
namespace {

TEST(Lifecycle, CloseCodeAndReasonReachThePeer) {
  auto server = make_endpoint();
  auto client = make_endpoint();
  Mailbox<CloseInfo> seen;
  server.register_protocol(alpn_of("test/close"), [&](Connection connection) -> Awaitable<void> {
    seen.put(co_await connection.closed());
  });
  auto result = run_on(client.executor(), [&]() -> Awaitable<Result<void>> {
    auto connection = co_await client.connect(server.local_address(), server.node_id(),
                                              alpn_of("test/close"));
    if (!connection) co_return Unexpected{connection.error()};
    connection->close(42, "bye, panda");
    co_return Result<void>{};
  }());
  ASSERT_TRUE(result.has_value()) << "timed out";
  ASSERT_TRUE(result->has_value()) << result->error().to_string();
  auto info = seen.take();
  ASSERT_TRUE(info.has_value()) << "the server never saw the close";
  EXPECT_EQ(info->kind, CloseInfo::Kind::Peer) << info->to_string();
  EXPECT_EQ(info->code, 42u);
  EXPECT_EQ(info->reason, "bye, panda");
}

// A node that shuts down says so (one CONNECTION_CLOSE per connection): its peers stop using the
// connection at once instead of at their idle timeout, so a node restarted on the same address is
// dialled afresh. (A peer that vanishes without a word: the next test, and netns.dead_peer.)
TEST(Lifecycle, EndpointShutdownClosesItsConnectionsAtOnce) {
  TransportConfig transport;
  transport.idle_timeout = 60s;  // far beyond the wait below: only the close can end the read
  std::optional<Endpoint> server = make_endpoint(transport);
  auto client = make_endpoint(transport);
  Mailbox<bool> accepted;
  server->register_protocol(alpn_of("test/idle"), [&](Connection connection) -> Awaitable<void> {
    accepted.put(true);
    co_await connection.closed();
  });
  std::optional<Connection> connection;
  std::optional<Stream> stream;
  auto opened = run_on(client.executor(), [&]() -> Awaitable<Result<void>> {
    auto connected = co_await client.connect(server->local_address(), server->node_id(),
                                             alpn_of("test/idle"));
    if (!connected) co_return Unexpected{connected.error()};
    connection = *connected;
    auto bi = co_await connection->open_bi();
    if (!bi) co_return Unexpected{bi.error()};
    stream = *bi;
    co_return co_await stream->write(alpn_of("ping"));
  }());
  ASSERT_TRUE(opened.has_value() && opened->has_value());
  ASSERT_TRUE(accepted.take().has_value());

  server.reset();
  auto read = run_on(client.executor(), [&]() -> Awaitable<Result<std::size_t>> {
    std::uint8_t buffer[16];
    co_return co_await stream->read_some(buffer);
  }(), 5s);
  ASSERT_TRUE(read.has_value()) << "the read did not fail within 5 s (idle timeout 60 s)";
  ASSERT_FALSE(read->has_value());
  EXPECT_EQ(read->error().code(), Errc::ConnectionClosed) << read->error().to_string();
  ASSERT_TRUE(connection->close_info().has_value());
  EXPECT_TRUE(connection->close_info()->remote) << connection->close_info()->to_string();
  EXPECT_EQ(connection->close_info()->reason, "endpoint shut down");
  EXPECT_TRUE(eventually([&] { return client.stats().open_connections == 0; }));
  stream.reset();
  connection.reset();
}

TEST(Lifecycle, DroppedPacketsSurfaceAsConnectionLostWithinIdleTimeout) {
  TransportConfig transport;
  transport.idle_timeout = 600ms;
  auto server = make_endpoint(transport);
  auto client = make_endpoint(transport);
  UdpRelay relay(server.local_address());
  server.register_protocol(alpn_of("test/idle"), echo_handler());
  std::optional<Connection> connection;
  std::optional<Stream> stream;
  auto opened = run_on(client.executor(), [&]() -> Awaitable<Result<void>> {
    auto connected =
        co_await client.connect(relay.address(), server.node_id(), alpn_of("test/idle"));
    if (!connected) co_return Unexpected{connected.error()};
    connection = *connected;
    auto bi = co_await connection->open_bi();
    if (!bi) co_return Unexpected{bi.error()};
    stream = *bi;
    co_return co_await stream->write(alpn_of("ping"));
  }());
  ASSERT_TRUE(opened.has_value() && opened->has_value());

  auto started = std::chrono::steady_clock::now();
  relay.drop_everything();  // both endpoints live on; nothing gets through any more
  auto read = run_on(client.executor(), [&]() -> Awaitable<Result<std::size_t>> {
    std::uint8_t buffer[16];
    co_return co_await stream->read_some(buffer);
  }(), 5s);
  auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(read.has_value()) << "the read never failed";
  ASSERT_FALSE(read->has_value());
  EXPECT_EQ(read->error().code(), Errc::ConnectionLost) << read->error().to_string();
  EXPECT_LT(waited, 600ms * 3);
  // The server's side idles out the same way.
  EXPECT_TRUE(eventually([&] { return server.stats().open_connections == 0; }, 3s));
  stream.reset();
  connection.reset();
}

TEST(Lifecycle, PeerCloseFailsPendingOperationsWithConnectionClosed) {
  auto server = make_endpoint();
  auto client = make_endpoint();
  server.register_protocol(alpn_of("test/close"), [&](Connection connection) -> Awaitable<void> {
    auto stream = co_await connection.accept_bi();
    if (stream) connection.close(5, "go away");
  });
  auto connection = connect_on(client, server, "test/close");
  ASSERT_TRUE(connection.has_value());
  auto read = run_on(client.executor(), [&]() -> Awaitable<Result<std::size_t>> {
    auto stream = co_await connection->open_bi();
    if (!stream) co_return Unexpected{stream.error()};
    auto wrote = co_await stream->write(as_bytes("hi"));
    if (!wrote) co_return Unexpected{wrote.error()};
    std::uint8_t buffer[16];
    co_return co_await stream->read_some(buffer);  // pending until the close arrives
  }());
  ASSERT_TRUE(read.has_value()) << "the read never failed";
  ASSERT_FALSE(read->has_value());
  EXPECT_EQ(read->error().code(), Errc::ConnectionClosed) << read->error().to_string();
  EXPECT_NE(read->error().message().find("code 5 (go away)"), std::string::npos)
      << read->error().message();
}

// Closing period (RFC 9000 10.2.1): the server's CONNECTION_CLOSE is lost; the client's next
// packets get it again, so the client learns of the close now, not at its idle timeout (20 s).
TEST(Lifecycle, ALostCloseIsSentAgainWhenThePeerSpeaks) {
  TransportConfig transport;
  transport.idle_timeout = 20s;
  auto server = make_endpoint(transport);
  auto client = make_endpoint(transport);
  UdpRelay relay(server.local_address());
  server.register_protocol(alpn_of("test/close"), [&](Connection connection) -> Awaitable<void> {
    auto stream = co_await connection.accept_bi();
    if (!stream) co_return;
    std::uint8_t buffer[16];
    (void)co_await stream->read_some(buffer);
    relay.drop_from_server(true);  // the close below never arrives
    connection.close(7, "bye");
  });
  std::optional<Connection> connection;
  std::optional<Stream> stream;
  auto opened = run_on(client.executor(), [&]() -> Awaitable<Result<void>> {
    auto connected =
        co_await client.connect(relay.address(), server.node_id(), alpn_of("test/close"));
    if (!connected) co_return Unexpected{connected.error()};
    connection = *connected;
    auto bi = co_await connection->open_bi();
    if (!bi) co_return Unexpected{bi.error()};
    stream = *bi;
    co_return co_await stream->write(as_bytes("hi"));
  }());
  ASSERT_TRUE(opened.has_value() && opened->has_value());
  ASSERT_TRUE(eventually([&] { return relay.dropped() > 0; }));
  relay.drop_from_server(false);

  auto read = run_on(client.executor(), [&]() -> Awaitable<Result<std::size_t>> {
    (void)co_await stream->write(as_bytes("more"));  // reaches the closed connection
    std::uint8_t buffer[16];
    co_return co_await stream->read_some(buffer);
  }(), 5s);
  ASSERT_TRUE(read.has_value()) << "the client did not learn of the close";
  ASSERT_FALSE(read->has_value());
  EXPECT_EQ(read->error().code(), Errc::ConnectionClosed) << read->error().to_string();
  EXPECT_NE(read->error().message().find("code 7 (bye)"), std::string::npos)
      << read->error().message();
  // It came from the closing period, not through the relay before it dropped the first copy.
  EXPECT_GE(server.stats().closes_resent, 1u);
  stream.reset();
  connection.reset();
}

// Both sides allow 400 ms of silence. Waits on closed() with a deadline of about four idle
// timeouts: with keep-alive it must not complete, without it must.
Awaitable<std::optional<CloseInfo>> closed_within(Connection connection,
                                                  std::chrono::milliseconds deadline) {
  auto executor = co_await asio::this_coro::executor;
  auto info = std::make_shared<std::optional<CloseInfo>>();
  auto done = std::make_shared<Notifier>();
  asio::co_spawn(
      executor,
      [](Connection c, auto info_out, auto notify) -> Awaitable<void> {
        auto info_value = co_await c.closed();
        *info_out = info_value;
        notify->notify_all();
      }(connection, info, done),
      asio::detached);
  asio::steady_timer timer(executor, deadline);
  timer.async_wait([done](std::error_code) { done->notify_all(); });
  co_await done->wait();
  co_return *info;
}

TEST(Lifecycle, KeepAliveHoldsAnIdleConnectionOpen) {
  TransportConfig server_transport;
  server_transport.idle_timeout = 400ms;
  TransportConfig client_transport = server_transport;
  client_transport.keep_alive = 100ms;
  auto server = make_endpoint(server_transport);
  auto client = make_endpoint(client_transport);
  server.register_protocol(alpn_of("test/echo"), echo_handler());
  auto connection = connect_on(client, server, "test/echo");
  ASSERT_TRUE(connection.has_value());
  auto closed = run_on(client.executor(), closed_within(*connection, 1600ms), 5s);
  ASSERT_TRUE(closed.has_value());
  EXPECT_FALSE(closed->has_value()) << (*closed)->to_string();
  auto echoed = run_on(client.executor(), [&]() -> Awaitable<Result<Bytes>> {
    auto stream = co_await connection->open_bi();
    if (!stream) co_return Unexpected{stream.error()};
    auto wrote = co_await stream->write(as_bytes("still here"));
    if (!wrote) co_return Unexpected{wrote.error()};
    (void)co_await stream->finish();
    co_return co_await stream->read_to_end(64);
  }());
  ASSERT_TRUE(echoed.has_value() && echoed->has_value());
  EXPECT_EQ(**echoed, alpn_of("still here"));
  close_on(client, *connection);
}

TEST(Lifecycle, AnIdleConnectionWithoutKeepAliveIsLost) {
  TransportConfig transport;
  transport.idle_timeout = 400ms;
  auto server = make_endpoint(transport);
  auto client = make_endpoint(transport);
  server.register_protocol(alpn_of("test/echo"), echo_handler());
  auto connection = connect_on(client, server, "test/echo");
  ASSERT_TRUE(connection.has_value());
  auto closed = run_on(client.executor(), closed_within(*connection, 1600ms), 5s);
  ASSERT_TRUE(closed.has_value());
  ASSERT_TRUE(closed->has_value()) << "still open after four idle timeouts";
  EXPECT_EQ((*closed)->kind, CloseInfo::Kind::IdleTimeout);
  auto accepted = run_on(client.executor(), connection->accept_bi());
  ASSERT_TRUE(accepted.has_value());
  ASSERT_FALSE(accepted->has_value());
  EXPECT_EQ(accepted->error().code(), Errc::ConnectionLost) << accepted->error().to_string();
  EXPECT_TRUE(eventually([&] { return server.stats().open_connections == 0; }));
}

}  // namespace
}  // namespace p2panda::net::test
