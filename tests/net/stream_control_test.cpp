// Unidirectional streams, their stream limit, and RESET_STREAM / STOP_SENDING in both directions.
#include "net_test_util.hpp"

namespace p2panda::net::test {
namespace {

TEST(UniStream, BytesArriveAndDirectionsAreEnforced) {
  auto server = make_endpoint();
  auto client = make_endpoint();
  Mailbox<Result<std::string>> received;
  Mailbox<Errc> write_on_receive_only;
  server.register_protocol(alpn_of("test/uni"), [&](Connection connection) -> Awaitable<void> {
    auto stream = co_await connection.accept_uni();
    if (!stream) {
      received.put(Unexpected{stream.error()});
      co_return;
    }
    EXPECT_TRUE(stream->is_receive_only());
    auto wrote = co_await stream->write(as_bytes("no"));
    write_on_receive_only.put(wrote ? Errc::Io : wrote.error().code());
    auto data = co_await stream->read_to_end(1024);
    if (!data) {
      received.put(Unexpected{data.error()});
      co_return;
    }
    received.put(std::string(data->begin(), data->end()));
    co_await connection.closed();
  });
  auto connection = connect_on(client, server, "test/uni");
  ASSERT_TRUE(connection.has_value());
  auto read_on_send_only = run_on(client.executor(), [&]() -> Awaitable<Result<Errc>> {
    auto stream = co_await connection->open_uni();
    if (!stream) co_return Unexpected{stream.error()};
    EXPECT_TRUE(stream->is_send_only());
    auto wrote = co_await stream->write(as_bytes("one way"));
    if (!wrote) co_return Unexpected{wrote.error()};
    auto finished = co_await stream->finish();
    if (!finished) co_return Unexpected{finished.error()};
    std::uint8_t buffer[8];
    auto read = co_await stream->read_some(buffer);
    co_return read ? Errc::Io : read.error().code();
  }());
  ASSERT_TRUE(read_on_send_only.has_value() && read_on_send_only->has_value());
  EXPECT_EQ(**read_on_send_only, Errc::InvalidArgument);
  auto data = received.take();
  ASSERT_TRUE(data.has_value()) << "nothing arrived";
  ASSERT_TRUE(data->has_value()) << data->error().to_string();
  EXPECT_EQ(**data, "one way");
  EXPECT_EQ(write_on_receive_only.take(), Errc::InvalidArgument);
  close_on(client, *connection);
}

TEST(UniStream, OpeningPastThePeersLimitWaitsForCredit) {
  TransportConfig transport;
  transport.max_uni_streams = 2;
  auto server = make_endpoint(transport);
  auto client = make_endpoint();
  std::atomic<int> delivered{0};
  server.register_protocol(alpn_of("test/uni"), [&](Connection connection) -> Awaitable<void> {
    for (;;) {
      auto stream = co_await connection.accept_uni();
      if (!stream) co_return;
      auto data = co_await stream->read_to_end(1024);
      if (data) ++delivered;
    }
  });
  std::optional<Connection> connection;
  std::vector<Stream> open;
  auto opened = run_on(client.executor(), [&]() -> Awaitable<Result<void>> {
    auto connected =
        co_await client.connect(server.local_address(), server.node_id(), alpn_of("test/uni"));
    if (!connected) co_return Unexpected{connected.error()};
    connection = *connected;
    for (int i = 0; i < 2; ++i) {  // the peer's limit, left open (not finished)
      auto stream = co_await connection->open_uni();
      if (!stream) co_return Unexpected{stream.error()};
      auto wrote = co_await stream->write(as_bytes("x"));
      if (!wrote) co_return Unexpected{wrote.error()};
      open.push_back(*stream);
    }
    co_return Result<void>{};
  }());
  ASSERT_TRUE(opened.has_value() && opened->has_value());

  // A third stream must wait, not fail, until the peer grants another (MAX_STREAMS).
  Mailbox<Result<Stream>> third;
  asio::co_spawn(
      client.executor(), [&]() -> Awaitable<void> { third.put(co_await connection->open_uni()); },
      asio::detached);
  EXPECT_FALSE(third.take(300ms).has_value()) << "open_uni did not wait for stream credit";
  auto finished = run_on(client.executor(), [&]() -> Awaitable<Result<void>> {
    co_return co_await open[0].finish();  // the peer closes that stream and grants one more
  }());
  ASSERT_TRUE(finished.has_value() && finished->has_value());
  auto stream = third.take(5s);
  ASSERT_TRUE(stream.has_value()) << "open_uni never got credit";
  ASSERT_TRUE(stream->has_value()) << stream->error().to_string();
  EXPECT_TRUE(eventually([&] { return delivered.load() == 1; }));
  close_on(client, *connection);
  open.clear();
  connection.reset();
}

TEST(StreamControl, PeerResetFailsPendingReadWithItsCode) {
  auto server = make_endpoint();
  auto client = make_endpoint();
  Mailbox<bool> first_byte;
  Mailbox<Error> read_error;
  server.register_protocol(alpn_of("test/reset"), [&](Connection connection) -> Awaitable<void> {
    auto stream = co_await connection.accept_bi();
    if (!stream) co_return;
    std::uint8_t buffer[16];
    auto n = co_await stream->read_some(buffer);
    if (!n || *n == 0) co_return;
    first_byte.put(true);
    auto second = co_await stream->read_some(buffer);  // pending until the reset arrives
    if (!second) read_error.put(second.error());
    co_await connection.closed();
  });
  auto connection = connect_on(client, server, "test/reset");
  ASSERT_TRUE(connection.has_value());
  std::optional<Stream> stream;
  auto wrote = run_on(client.executor(), [&]() -> Awaitable<Result<void>> {
    auto opened = co_await connection->open_bi();
    if (!opened) co_return Unexpected{opened.error()};
    stream = *opened;
    co_return co_await stream->write(as_bytes("a"));
  }());
  ASSERT_TRUE(wrote.has_value() && wrote->has_value());
  ASSERT_TRUE(first_byte.take().has_value());
  auto after_reset = run_on(client.executor(), [&]() -> Awaitable<Result<void>> {
    auto reset = co_await stream->reset(7);
    if (!reset) co_return Unexpected{reset.error()};
    co_return co_await stream->write(as_bytes("b"));
  }());
  ASSERT_TRUE(after_reset.has_value());
  ASSERT_FALSE(after_reset->has_value()) << "wrote after reset";
  EXPECT_EQ(after_reset->error().code(), Errc::StreamReset) << after_reset->error().to_string();

  auto error = read_error.take();
  ASSERT_TRUE(error.has_value()) << "the pending read never failed";
  EXPECT_EQ(error->code(), Errc::StreamReset) << error->to_string();
  EXPECT_NE(error->message().find("code 7"), std::string::npos) << error->message();
  EXPECT_EQ(error->stream_code(), 7u);
  close_on(client, *connection);
}

TEST(StreamControl, PeerStopFailsLaterWrites) {
  auto server = make_endpoint();
  auto client = make_endpoint();
  Mailbox<Errc> read_after_stop;
  server.register_protocol(alpn_of("test/stop"), [&](Connection connection) -> Awaitable<void> {
    auto stream = co_await connection.accept_bi();
    if (!stream) co_return;
    std::uint8_t buffer[16];
    (void)co_await stream->read_some(buffer);
    (void)co_await stream->stop(9);
    auto read = co_await stream->read_some(buffer);
    read_after_stop.put(read ? Errc::Io : read.error().code());
    (void)co_await stream->finish();  // lets the stream close at the writer, carrying the code
    co_await connection.closed();
  });
  auto connection = connect_on(client, server, "test/stop");
  ASSERT_TRUE(connection.has_value());
  // Keep writing: once STOP_SENDING arrives a write (possibly one waiting for acks) fails.
  std::optional<Stream> stream;
  auto result = run_on(client.executor(), [&]() -> Awaitable<Result<int>> {
    auto opened = co_await connection->open_bi();
    if (!opened) co_return Unexpected{opened.error()};
    stream = *opened;
    Bytes chunk(64 * 1024, 0x5a);
    for (int i = 0; i < 4096; ++i) {  // 256 MiB at most: far more than any window
      auto wrote = co_await stream->write(chunk);
      if (!wrote) co_return Unexpected{wrote.error()};
    }
    co_return 0;
  }());
  ASSERT_TRUE(result.has_value()) << "timed out";
  ASSERT_FALSE(result->has_value()) << "every write succeeded";
  EXPECT_EQ(result->error().code(), Errc::StreamReset) << result->error().to_string();
  // ngtcp2 0.12 does not report the STOP_SENDING code until the stream closes (docs/net.md).
  EXPECT_NE(result->error().message().find("STOP_SENDING"), std::string::npos)
      << result->error().message();
  EXPECT_EQ(read_after_stop.take(), Errc::StreamReset);
  // Once the stream has closed (our RESET_STREAM acknowledged, the peer's FIN in), the code is
  // known and later writes carry it. Checked every 5 ms against a 5 s deadline.
  auto with_code = run_on(client.executor(), [&]() -> Awaitable<std::string> {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor);
    std::string message;
    for (int i = 0; i < 1000; ++i) {
      auto wrote = co_await stream->write(as_bytes("x"));
      if (!wrote) message = wrote.error().message();
      if (message.find("code 9") != std::string::npos) break;
      timer.expires_after(5ms);
      co_await timer.async_wait(use_tuple);
    }
    co_return message;
  }());
  ASSERT_TRUE(with_code.has_value());
  EXPECT_NE(with_code->find("with code 9"), std::string::npos) << *with_code;
  stream.reset();
  close_on(client, *connection);
}

}  // namespace
}  // namespace p2panda::net::test
