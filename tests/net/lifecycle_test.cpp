// Connection lifecycle: graceful close seen by the peer, a vanished peer surfacing as an error
// within the idle timeout, and many connect/close cycles (run under ASan for leaks).
#include <optional>

#include "net_test_util.hpp"

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

TEST(Lifecycle, VanishedPeerSurfacesWithinIdleTimeout) {
  TransportConfig transport;
  transport.idle_timeout = 600ms;
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

  auto started = std::chrono::steady_clock::now();
  server.reset();  // gone without a word
  auto read = run_on(client.executor(), [&]() -> Awaitable<Result<std::size_t>> {
    std::uint8_t buffer[16];
    co_return co_await stream->read_some(buffer);
  }(), 5s);
  auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(read.has_value()) << "the read never failed";
  ASSERT_FALSE(read->has_value());
  EXPECT_EQ(read->error().code(), Errc::Io) << read->error().to_string();
  EXPECT_EQ(connection->close_info()->kind, CloseInfo::Kind::IdleTimeout);
  EXPECT_LT(waited, 600ms * 3);  // idle timeout (at least 3 PTO) plus scheduling slack
  stream.reset();
  connection.reset();
}

TEST(Lifecycle, TwoHundredConnectCloseCycles) {
  auto server = make_endpoint();
  auto client = make_endpoint();
  std::atomic<int> accepted{0};
  server.register_protocol(alpn_of("test/cycle"), [&](Connection connection) -> Awaitable<void> {
    ++accepted;
    co_await connection.closed();
  });
  auto done = run_on(client.executor(), [&]() -> Awaitable<Result<int>> {
    int ok = 0;
    for (int i = 0; i < 200; ++i) {
      auto connection = co_await client.connect(server.local_address(), server.node_id(),
                                                alpn_of("test/cycle"));
      if (!connection) co_return Unexpected{connection.error()};
      connection->close(0, "cycle");
      ++ok;
    }
    co_return ok;
  }(), 60s);
  ASSERT_TRUE(done.has_value()) << "timed out";
  ASSERT_TRUE(done->has_value()) << done->error().to_string();
  EXPECT_EQ(**done, 200);
  EXPECT_GE(accepted.load(), 190);  // the last handshakes may still be finishing on the server
}

}  // namespace
}  // namespace p2panda::net::test
