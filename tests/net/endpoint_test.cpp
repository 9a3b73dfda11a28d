// Handshake, key verification and ALPN routing between two endpoints on 127.0.0.1.
#include <chrono>
#include <cstdio>

#include <p2panda/ids.hpp>

#include "net_test_util.hpp"

namespace p2panda::net::test {
namespace {

TEST(Endpoint, HandshakeAndEchoOnBiStream) {
  auto server = make_endpoint();
  auto client = make_endpoint();
  Mailbox<PublicKey> seen_by_server;
  server.register_protocol(alpn_of("test/echo"), [&](Connection connection) -> Awaitable<void> {
    seen_by_server.put(connection.remote_id());
    co_await echo_handler()(connection);
  });

  auto result = run_on(client.executor(), [&]() -> Awaitable<Result<std::string>> {
    auto start = std::chrono::steady_clock::now();
    auto connection = co_await client.connect(server.local_address(), server.node_id(),
                                              alpn_of("test/echo"));
    if (!connection) co_return Unexpected{connection.error()};
    auto handshake = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(connection->remote_id(), server.node_id());
    EXPECT_EQ(connection->alpn(), alpn_of("test/echo"));
    auto stream = co_await connection->open_bi();
    if (!stream) co_return Unexpected{stream.error()};
    std::string hello = "Hello, Panda!";
    if (auto ok = co_await stream->write(ByteSpan(
            reinterpret_cast<const std::uint8_t*>(hello.data()), hello.size()));
        !ok) {
      co_return Unexpected{ok.error()};
    }
    (void)co_await stream->finish();
    auto echoed = co_await stream->read_to_end(1024);
    if (!echoed) co_return Unexpected{echoed.error()};
    auto first_byte = std::chrono::steady_clock::now() - start;
    std::printf("handshake %.2f ms, handshake to echo %.2f ms\n",
                std::chrono::duration<double, std::milli>(handshake).count(),
                std::chrono::duration<double, std::milli>(first_byte).count());
    connection->close(0, "done");
    co_return std::string(echoed->begin(), echoed->end());
  }());
  ASSERT_TRUE(result.has_value()) << "timed out";
  ASSERT_TRUE(result->has_value()) << result->error().to_string();
  EXPECT_EQ(**result, "Hello, Panda!");
  auto client_id = seen_by_server.take();
  ASSERT_TRUE(client_id.has_value());
  EXPECT_EQ(*client_id, client.node_id());
}

TEST(Endpoint, WrongExpectedKeyIsRefused) {
  auto server = make_endpoint();
  auto client = make_endpoint();
  server.register_protocol(alpn_of("test/echo"), echo_handler());
  auto other = PrivateKey::generate().public_key();
  auto result = run_on(client.executor(), client.connect(server.local_address(), other,
                                                         alpn_of("test/echo")));
  ASSERT_TRUE(result.has_value()) << "timed out";
  ASSERT_FALSE(result->has_value());
  EXPECT_EQ(result->error().code(), Errc::TlsRefused);
  EXPECT_NE(result->error().message().find(server.node_id().to_hex()), std::string::npos)
      << result->error().message();
}

TEST(Endpoint, UnknownAlpnIsRefused) {
  auto server = make_endpoint();
  auto client = make_endpoint();
  server.register_protocol(alpn_of("test/echo"), echo_handler());
  auto result = run_on(client.executor(), client.connect(server.local_address(), server.node_id(),
                                                         alpn_of("test/unknown")));
  ASSERT_TRUE(result.has_value()) << "timed out";
  ASSERT_FALSE(result->has_value());
  EXPECT_EQ(result->error().code(), Errc::TlsRefused) << result->error().to_string();
}

TEST(Endpoint, SilentPeerTimesOutTheHandshake) {
  TransportConfig transport;
  transport.handshake_timeout = 300ms;
  auto client = make_endpoint(transport);
  // A bound socket nobody reads: Initials vanish, as with a peer that is down.
  asio::io_context io;
  asio::ip::udp::socket silent(io, SocketAddress(asio::ip::address_v4::loopback(), 0));
  auto started = std::chrono::steady_clock::now();
  auto result = run_on(client.executor(),
                       client.connect(silent.local_endpoint(), PrivateKey::generate().public_key(),
                                      alpn_of("test/silent")));
  auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(result.has_value()) << "connect never gave up";
  ASSERT_FALSE(result->has_value());
  EXPECT_EQ(result->error().code(), Errc::TimedOut) << result->error().to_string();
  EXPECT_GE(waited, 300ms);
  EXPECT_EQ(client.stats().open_connections, 0u);
}

// A port nothing listens on answers with ICMP "port unreachable": the dial fails on that, long
// before its handshake timeout (20 s here, beyond run_on's 10 s).
TEST(Endpoint, DialToAClosedPortFailsAsUnreachable) {
  TransportConfig transport;
  transport.handshake_timeout = 20s;
  auto client = make_endpoint(transport);
  SocketAddress closed;
  {
    asio::io_context io;
    asio::ip::udp::socket socket(io, SocketAddress(asio::ip::address_v4::loopback(), 0));
    closed = socket.local_endpoint();
  }  // closed again: the port is free
  auto result = run_on(client.executor(), client.connect(closed, PrivateKey::generate().public_key(),
                                                         alpn_of("test/closed")));
  ASSERT_TRUE(result.has_value()) << "the dial waited for its handshake timeout";
  ASSERT_FALSE(result->has_value());
  EXPECT_EQ(result->error().code(), Errc::Unreachable) << result->error().to_string();
  EXPECT_NE(result->error().message().find(std::to_string(closed.port())), std::string::npos)
      << result->error().message();
  EXPECT_EQ(client.stats().open_connections, 0u);
}

TEST(Endpoint, ConnectFromAnotherExecutorIsAnError) {
  auto client = make_endpoint();
  asio::io_context other;
  auto future = asio::co_spawn(
      other,
      [&]() -> Awaitable<Errc> {
        auto result =
            co_await client.connect(client.local_address(), client.node_id(), alpn_of("x"));
        co_return result ? Errc::Io : result.error().code();
      },
      asio::use_future);
  other.run();
  auto code = future.get();
  EXPECT_EQ(code, Errc::InvalidArgument);
}

}  // namespace
}  // namespace p2panda::net::test
