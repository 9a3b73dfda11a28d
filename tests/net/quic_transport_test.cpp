// QuicTransport specifics: dialling a peer's addresses in order.
#include "transport_test_util.hpp"

namespace p2panda::net::test {
namespace {

const Bytes kEcho = bytes_of("test/echo");

Awaitable<Result<PublicKey>> connect_once(std::shared_ptr<Transport> client, PeerAddress server) {
  auto connection = co_await client->connect(server, kEcho);
  if (!connection) co_return Unexpected{std::move(connection).error()};
  PublicKey remote = (*connection)->remote_id();
  (*connection)->close(0, "done");
  co_return remote;
}

// A UDP port that swallows datagrams without answering: a dial there times out.
class SilentPort {
 public:
  SilentPort() : socket_(io_, SocketAddress(asio::ip::address_v4::loopback(), 0)) {}
  SocketAddress address() const { return socket_.local_endpoint(); }

 private:
  asio::io_context io_;
  asio::ip::udp::socket socket_;
};

TransportConfig quick_handshake() {
  TransportConfig config;
  config.handshake_timeout = std::chrono::milliseconds(300);
  return config;
}

TEST(QuicTransport, NoAddressesIsInvalidArgument) {
  TestNetwork network(Kind::Quic);
  auto server = network.add_node();
  auto client = network.add_node();
  server->register_protocol(kEcho, echo_handler_for_transport());
  auto result = run_on(client->executor(), connect_once(client, {server->node_id(), {}}));
  ASSERT_TRUE(result.has_value()) << "timed out";
  ASSERT_FALSE(result->has_value());
  EXPECT_EQ(result->error().code(), Errc::InvalidArgument);
}

TEST(QuicTransport, DialsAddressesInOrderUntilOneAnswers) {
  TestNetwork network(Kind::Quic);
  auto server = network.add_node();
  auto client = network.add_node(quick_handshake());
  server->register_protocol(kEcho, echo_handler_for_transport());
  SilentPort silent;
  PeerAddress peer{server->node_id(), {silent.address()}};
  for (const auto& address : server->local_addresses()) peer.addresses.push_back(address);
  auto result = run_on(client->executor(), connect_once(client, peer));
  ASSERT_TRUE(result.has_value()) << "timed out";
  ASSERT_TRUE(result->has_value()) << result->error().to_string();
  EXPECT_EQ(**result, server->node_id());
}

TEST(QuicTransport, ReportsTheLastAddressesError) {
  TestNetwork network(Kind::Quic);
  auto server = network.add_node();
  auto client = network.add_node(quick_handshake());
  server->register_protocol(kEcho, echo_handler_for_transport());
  SilentPort silent;
  PeerAddress peer{server->node_id(), {silent.address(), silent.address()}};
  auto result = run_on(client->executor(), connect_once(client, peer));
  ASSERT_TRUE(result.has_value()) << "timed out";
  ASSERT_FALSE(result->has_value());
  // Both addresses stay silent: the last one's handshake timed out.
  EXPECT_EQ(result->error().code(), Errc::TimedOut) << result->error().to_string();
}

// abort() resets and stops the QUIC stream: the peer's pending read fails with StreamReset and
// the code, our own later reads fail at once.
TEST(QuicTransport, AbortResetsTheStreamForThePeer) {
  TestNetwork network(Kind::Quic);
  auto server = network.add_node();
  auto client = network.add_node();
  auto seen = std::make_shared<Mailbox<Result<std::optional<Bytes>>>>();
  server->register_protocol(kEcho, [seen](ConnectionHandle connection) -> Awaitable<void> {
    auto stream = co_await connection->accept_bi();
    if (!stream) co_return;
    auto first = co_await read_frame(**stream, 1024);
    if (!first) co_return;
    auto next = co_await read_frame(**stream, 1024);
    seen->put(std::move(next));
    connection->close(0, "seen");
  });
  auto local =
      run_on(client->executor(),
             [](std::shared_ptr<Transport> from, PeerAddress to) -> Awaitable<Result<std::size_t>> {
               auto opened = co_await open_stream(from, to, kEcho);
               if (!opened) co_return Unexpected{std::move(opened).error()};
               ConnectionHandle connection = opened->first;
               StreamHandle stream = opened->second;
               auto written = co_await write_frame(*stream, bytes_of("ping"));
               if (!written) co_return Unexpected{written.error()};
               stream->abort(3);
               std::uint8_t byte = 0;
               auto read = co_await stream->read_some(std::span(&byte, 1));
               // The peer closes once it has seen how the stream ended.
               auto closed = co_await connection->closed();
               (void)closed;
               co_return read;
             }(client, TestNetwork::address_of(*server)));
  ASSERT_TRUE(local.has_value()) << "timed out";
  ASSERT_FALSE(local->has_value()) << "reads after abort() must fail locally";
  EXPECT_EQ(local->error().code(), Errc::Io);
  auto peer = seen->take();
  ASSERT_TRUE(peer.has_value());
  ASSERT_FALSE(peer->has_value()) << "the peer must see the reset, not a clean end of stream";
  EXPECT_EQ(peer->error().code(), Errc::StreamReset) << peer->error().to_string();
  EXPECT_NE(peer->error().message().find("3"), std::string::npos) << peer->error().message();
}

}  // namespace
}  // namespace p2panda::net::test
