// Replies an endpoint sends before any connection exists: Retry (address validation) and
// Version Negotiation, the latter checked byte by byte from a raw UDP socket.
#include <array>

#include "net_test_util.hpp"

namespace p2panda::net::test {
namespace {

TEST(Stateless, HandshakeWithAddressValidation) {
  auto server = make_endpoint({}, /*validate_addresses=*/true);
  auto client = make_endpoint();
  server.register_protocol(alpn_of("test/echo"), echo_handler());
  auto connection = connect_on(client, server, "test/echo");
  ASSERT_TRUE(connection.has_value());
  auto echoed = run_on(client.executor(), [&]() -> Awaitable<Result<Bytes>> {
    auto stream = co_await connection->open_bi();
    if (!stream) co_return Unexpected{stream.error()};
    auto wrote = co_await stream->write(as_bytes("validated"));
    if (!wrote) co_return Unexpected{wrote.error()};
    (void)co_await stream->finish();
    co_return co_await stream->read_to_end(64);
  }());
  ASSERT_TRUE(echoed.has_value() && echoed->has_value());
  EXPECT_EQ(**echoed, alpn_of("validated"));
  auto stats = server.stats();
  EXPECT_EQ(stats.retries_sent, 1u);
  EXPECT_EQ(stats.handshakes_completed, 1u);
  close_on(client, *connection);
}

// Sends `datagram` to `to` from a fresh socket on 127.0.0.1; the first reply within 5 s.
std::optional<Bytes> exchange(const SocketAddress& to, const Bytes& datagram) {
  asio::io_context io;
  asio::ip::udp::socket socket(io, SocketAddress(asio::ip::address_v4::loopback(), 0));
  socket.send_to(asio::buffer(datagram), to);
  Bytes reply(2048);
  std::optional<Bytes> result;
  SocketAddress from;
  socket.async_receive_from(asio::buffer(reply), from, [&](std::error_code ec, std::size_t n) {
    if (!ec) result = Bytes(reply.begin(), reply.begin() + static_cast<std::ptrdiff_t>(n));
  });
  io.run_for(5s);
  return result;
}

std::uint32_t read_u32(const Bytes& bytes, std::size_t at) {
  return static_cast<std::uint32_t>(bytes[at]) << 24 |
         static_cast<std::uint32_t>(bytes[at + 1]) << 16 |
         static_cast<std::uint32_t>(bytes[at + 2]) << 8 | bytes[at + 3];
}

TEST(Stateless, UnsupportedVersionGetsVersionNegotiation) {
  auto server = make_endpoint();
  const std::array<std::uint8_t, 8> dcid{1, 2, 3, 4, 5, 6, 7, 8};
  const std::array<std::uint8_t, 5> scid{9, 10, 11, 12, 13};
  // A long header (RFC 8999) with an unknown version, padded to the 1,200 bytes a client's
  // first datagram must have: form bit, fixed bit, version, DCID, SCID.
  Bytes packet{0xc0, 0x5a, 0x6a, 0x7a, 0x8a};  // version 0x5a6a7a8a: reserved, unsupported
  packet.push_back(static_cast<std::uint8_t>(dcid.size()));
  packet.insert(packet.end(), dcid.begin(), dcid.end());
  packet.push_back(static_cast<std::uint8_t>(scid.size()));
  packet.insert(packet.end(), scid.begin(), scid.end());
  packet.resize(1200, 0);

  auto reply = exchange(server.local_address(), packet);
  ASSERT_TRUE(reply.has_value()) << "no Version Negotiation packet";
  // Layout (RFC 9000 17.2.1): long form bit, version 0, DCID = our SCID, SCID = our DCID, then
  // the supported versions, 4 bytes each.
  ASSERT_GE(reply->size(), 7u + dcid.size() + scid.size() + 4);
  EXPECT_NE((*reply)[0] & 0x80, 0);
  EXPECT_EQ(read_u32(*reply, 1), 0u);
  std::size_t at = 5;
  ASSERT_EQ((*reply)[at], scid.size());
  EXPECT_TRUE(std::equal(scid.begin(), scid.end(), reply->begin() + static_cast<long>(at + 1)));
  at += 1 + scid.size();
  ASSERT_EQ((*reply)[at], dcid.size());
  EXPECT_TRUE(std::equal(dcid.begin(), dcid.end(), reply->begin() + static_cast<long>(at + 1)));
  at += 1 + dcid.size();
  ASSERT_EQ((reply->size() - at) % 4, 0u);
  std::vector<std::uint32_t> versions;
  for (; at < reply->size(); at += 4) versions.push_back(read_u32(*reply, at));
  EXPECT_NE(std::find(versions.begin(), versions.end(), 0x00000001u), versions.end());
  EXPECT_EQ(std::find(versions.begin(), versions.end(), 0x5a6a7a8au), versions.end());
  EXPECT_EQ(server.stats().version_negotiations_sent, 1u);
  EXPECT_EQ(server.stats().open_connections, 0u);
}

}  // namespace
}  // namespace p2panda::net::test
