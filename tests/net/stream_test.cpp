// Stream transfer with flow control: bytes arrive intact and in order.
#include <random>

#include "net_test_util.hpp"

namespace p2panda::net::test {
namespace {

Bytes random_bytes(std::size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  Bytes bytes(size);
  for (auto& byte : bytes) byte = static_cast<std::uint8_t>(rng());
  return bytes;
}

TEST(Stream, TenMebibytesArriveIntact) {
  auto server = make_endpoint();
  auto client = make_endpoint();
  server.register_protocol(alpn_of("test/echo"), echo_handler());
  const Bytes payload = random_bytes(10 << 20, 7);

  auto result = run_on(client.executor(), [&]() -> Awaitable<Result<Bytes>> {
    auto connection = co_await client.connect(server.local_address(), server.node_id(),
                                              alpn_of("test/echo"));
    if (!connection) co_return Unexpected{connection.error()};
    auto stream = co_await connection->open_bi();
    if (!stream) co_return Unexpected{stream.error()};
    if (auto ok = co_await stream->write(payload); !ok) co_return Unexpected{ok.error()};
    (void)co_await stream->finish();
    auto echoed = co_await stream->read_to_end(payload.size() + 1);
    connection->close(0, "done");
    co_return echoed;
  }(), 60s);
  ASSERT_TRUE(result.has_value()) << "timed out";
  ASSERT_TRUE(result->has_value()) << result->error().to_string();
  ASSERT_EQ((*result)->size(), payload.size());
  EXPECT_TRUE(**result == payload);
}

TEST(Stream, ManyStreamsOnOneConnection) {
  auto server = make_endpoint();
  auto client = make_endpoint();
  server.register_protocol(alpn_of("test/echo"), echo_handler());
  // More streams than the peer allows at once (100): open_bi must wait for credit.
  auto result = run_on(client.executor(), [&]() -> Awaitable<Result<int>> {
    auto connection = co_await client.connect(server.local_address(), server.node_id(),
                                              alpn_of("test/echo"));
    if (!connection) co_return Unexpected{connection.error()};
    int echoed = 0;
    for (int i = 0; i < 150; ++i) {
      auto stream = co_await connection->open_bi();
      if (!stream) co_return Unexpected{stream.error()};
      Bytes message{static_cast<std::uint8_t>(i)};
      (void)co_await stream->write(message);
      (void)co_await stream->finish();
      auto back = co_await stream->read_to_end(16);
      if (back && *back == message) ++echoed;
    }
    connection->close(0, "done");
    co_return echoed;
  }());
  ASSERT_TRUE(result.has_value()) << "timed out";
  ASSERT_TRUE(result->has_value()) << result->error().to_string();
  EXPECT_EQ(**result, 150);
}

}  // namespace
}  // namespace p2panda::net::test
