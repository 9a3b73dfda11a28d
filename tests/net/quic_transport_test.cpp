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

// abort() on QUIC is covered by TransportConformance.AbortFailsThePeersReadsAndWrites (the
// peer's reads and writes fail with StreamReset). An abort right after the first write, before
// any reply, did not reach the peer's pending read within 10 s in one run: not yet understood,
// see the session notes.

}  // namespace
}  // namespace p2panda::net::test
