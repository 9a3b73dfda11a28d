// Batched UDP: the batching rules on their own (SendBatch, for_each_segment), a GSO send the
// kernel refuses, then transfers that must arrive intact with GSO and GRO on, with GSO forced off
// (the one-sendmsg-per-packet fallback), over IPv6 and with each congestion controller.
#include <sys/socket.h>

#include <random>
#include <vector>

#include <p2panda/hash.hpp>

#include "net/udp_batch.hpp"
#include "net/udp_socket.hpp"
#include "net_test_util.hpp"

namespace p2panda::net::test {
namespace {

using Next = SendBatch::Next;

struct BatchFixture {
  explicit BatchFixture(std::size_t max_packet, std::size_t max_segments = kMaxGsoSegments)
      : storage(kMaxGsoBytes + max_packet), batch(storage, max_packet, max_segments) {}
  // "Writes" a packet of `size` bytes whose bytes all equal `fill`.
  Next add(std::size_t size, std::uint8_t fill) {
    auto slot = batch.slot();
    std::fill(slot.begin(), slot.begin() + static_cast<std::ptrdiff_t>(size), fill);
    return batch.commit(size);
  }
  Bytes storage;
  SendBatch batch;
};

TEST(SendBatch, EqualPacketsShareOneBatchUntilTheSegmentLimit) {
  BatchFixture f(100);
  for (int i = 0; i < 63; ++i) ASSERT_EQ(f.add(100, 1), Next::Write) << i;
  EXPECT_EQ(f.add(100, 1), Next::Send);
  EXPECT_EQ(f.batch.segments(), 64u);
  EXPECT_EQ(f.batch.segment_size(), 100u);
  EXPECT_EQ(f.batch.pending().size(), 6400u);
}

TEST(SendBatch, FullSizedPacketsStopBelowTheGsoByteLimit) {
  BatchFixture f(1452);
  std::size_t added = 1;
  while (f.add(1452, 2) == Next::Write) ++added;
  EXPECT_EQ(added, kMaxGsoBytes / 1452);  // 45 packets: one more would pass 65,507 bytes
  EXPECT_LE(f.batch.pending().size(), kMaxGsoBytes);
}

TEST(SendBatch, AShorterPacketEndsTheBatch) {
  BatchFixture f(1200);
  EXPECT_EQ(f.add(1200, 1), Next::Write);
  EXPECT_EQ(f.add(1200, 2), Next::Write);
  EXPECT_EQ(f.add(300, 3), Next::Send);
  EXPECT_EQ(f.batch.segments(), 3u);
  EXPECT_EQ(f.batch.pending().size(), 2700u);
  EXPECT_EQ(f.batch.pending()[2699], 3);
}

TEST(SendBatch, ALongerPacketIsCarriedIntoTheNextBatch) {
  BatchFixture f(1452);
  EXPECT_EQ(f.add(1200, 1), Next::Write);
  EXPECT_EQ(f.add(1200, 2), Next::Write);
  EXPECT_EQ(f.add(1452, 9), Next::SendBefore);
  // The pending batch excludes the rejected packet.
  EXPECT_EQ(f.batch.pending().size(), 2400u);
  EXPECT_EQ(f.batch.segments(), 2u);
  EXPECT_EQ(f.batch.carry(), Next::Write);
  ASSERT_EQ(f.batch.pending().size(), 1452u);
  EXPECT_EQ(f.batch.segment_size(), 1452u);
  for (auto byte : f.batch.pending()) ASSERT_EQ(byte, 9);
}

TEST(SendBatch, OneSegmentMeansEveryPacketAlone) {
  BatchFixture f(1200, 1);
  EXPECT_EQ(f.add(1200, 1), Next::Send);
  f.batch.clear();
  EXPECT_EQ(f.batch.segments(), 0u);
  EXPECT_EQ(f.add(80, 1), Next::Send);
}

TEST(ForEachSegment, SplitsByTheSegmentSizeWithAShortLast) {
  Bytes buffer(2500);
  for (std::size_t i = 0; i < buffer.size(); ++i) buffer[i] = static_cast<std::uint8_t>(i);
  std::vector<ByteSpan> pieces;
  for_each_segment(buffer, 1000, [&](ByteSpan piece) { pieces.push_back(piece); });
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[0].size(), 1000u);
  EXPECT_EQ(pieces[2].size(), 500u);
  EXPECT_EQ(pieces[2].data(), buffer.data() + 2000);
  pieces.clear();
  for_each_segment(buffer, 0, [&](ByteSpan piece) { pieces.push_back(piece); });
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0].size(), 2500u);
}

// The kernel refuses GSO (EINVAL) on a socket with UDP checksums off (SO_NO_CHECK), which makes a
// real refusal we can provoke: the socket must send that batch one datagram per call and stop
// trying GSO.
TEST(UdpSocketTest, RefusedGsoFallsBackToOneDatagramPerCall) {
  asio::io_context io;
  const SocketAddress any(asio::ip::address_v4::loopback(), 0);
  auto receiver = UdpSocket::open(io, any, {.gso = false, .gro = false});
  auto sender = UdpSocket::open(io, any, {.gso = true, .gro = false});
  ASSERT_TRUE(receiver.has_value() && sender.has_value());
  int on = 1;
  ASSERT_EQ(setsockopt((*sender)->native_handle(), SOL_SOCKET, SO_NO_CHECK, &on, sizeof on), 0);
  std::vector<Bytes> got;
  (*receiver)->start(
      [&](UdpSocket&, const SocketAddress&, ByteSpan datagram) {
        got.emplace_back(datagram.begin(), datagram.end());
      },
      [] {});
  constexpr std::size_t kSegment = 100, kCount = 20;
  Bytes batch(kSegment * kCount);
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i] = static_cast<std::uint8_t>(i / kSegment);
  (*sender)->send((*receiver)->local(), batch, kSegment);
  EXPECT_FALSE((*sender)->gso_active());
  EXPECT_EQ((*sender)->stats().gso_refusals, 1u);
  EXPECT_EQ((*sender)->stats().send_calls, kCount);
  // Later batches go out one datagram per call without asking for GSO again.
  (*sender)->send((*receiver)->local(), ByteSpan(batch).first(2 * kSegment), kSegment);
  EXPECT_EQ((*sender)->stats().gso_refusals, 1u);
  EXPECT_EQ((*sender)->stats().send_calls, kCount + 2);
  EXPECT_EQ((*sender)->stats().gso_sends, 0u);
  for (int i = 0; i < 500 && got.size() < kCount + 2; ++i) io.run_for(10ms);
  ASSERT_EQ(got.size(), kCount + 2);
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].size(), kSegment);
    EXPECT_EQ(got[i].front(), static_cast<std::uint8_t>(i < kCount ? i : i - kCount)) << i;
  }
}

Endpoint bind_with(UdpOptions udp, CongestionControl cc = CongestionControl::Cubic,
                   bool ipv6 = false) {
  EndpointConfig config;
  if (ipv6) config.bind_v6 = SocketAddress(asio::ip::address_v6::loopback(), 0);
  config.udp = udp;
  config.transport.congestion_control = cc;
  auto endpoint = Endpoint::bind(std::move(config));
  EXPECT_TRUE(endpoint.has_value()) << endpoint.error().to_string();
  return std::move(*endpoint);
}

Bytes random_bytes(std::size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  Bytes bytes(size);
  for (auto& byte : bytes) byte = static_cast<std::uint8_t>(rng());
  return bytes;
}

UdpStats stats_of(Endpoint& endpoint) {
  auto stats = run_on(endpoint.executor(), [&]() -> Awaitable<UdpStats> {
    co_return endpoint.udp_stats();
  }());
  EXPECT_TRUE(stats.has_value());
  return stats.value_or(UdpStats{});
}

// Sends `payload` to an echo server (at its IPv6 address with `ipv6`) and returns what came back.
Result<Bytes> echo(Endpoint& client, Endpoint& server, const Bytes& payload, bool ipv6 = false) {
  const SocketAddress address =
      ipv6 ? server.local_address_v6().value_or(SocketAddress()) : server.local_address();
  auto result = run_on(client.executor(), [&]() -> Awaitable<Result<Bytes>> {
    auto connection =
        co_await client.connect(address, server.node_id(), alpn_of("test/echo"));
    if (!connection) co_return Unexpected{connection.error()};
    auto stream = co_await connection->open_bi();
    if (!stream) co_return Unexpected{stream.error()};
    auto written = co_await stream->write(payload);
    if (!written) co_return Unexpected{written.error()};
    (void)co_await stream->finish();
    auto echoed = co_await stream->read_to_end(payload.size() + 1);
    connection->close(0, "done");
    co_return echoed;
  }(), 60s);
  if (!result) return fail(Errc::Io, "timed out");
  return std::move(*result);
}

TEST(Gso, EightMebibytesArriveIntactWithGso) {
  auto server = bind_with({.gso = true, .gro = true});
  auto client = bind_with({.gso = true, .gro = true});
  server.register_protocol(alpn_of("test/echo"), echo_handler());
  const Bytes payload = random_bytes(8 << 20, 11);
  auto echoed = echo(client, server, payload);
  ASSERT_TRUE(echoed.has_value()) << echoed.error().to_string();
  ASSERT_EQ(echoed->size(), payload.size());
  EXPECT_EQ(Hash::digest(*echoed), Hash::digest(payload));
  // The batched paths really ran: GSO sends from the client, and the server got coalesced (GRO)
  // buffers that had to be split. How many depends on timing, so only "some" is asserted.
  const UdpStats sent = stats_of(client);
  EXPECT_EQ(sent.gso_refusals, 0u) << "this kernel refuses UDP GSO on loopback";
  EXPECT_GT(sent.gso_sends, 0u);
  EXPECT_LT(sent.send_calls, sent.datagrams_sent);
  const UdpStats received = stats_of(server);
  EXPECT_GT(received.coalesced_receives, 0u);
}

TEST(Gso, FallbackWithoutGsoArrivesIntact) {
  auto server = bind_with({.gso = false, .gro = false});
  auto client = bind_with({.gso = false, .gro = false});
  server.register_protocol(alpn_of("test/echo"), echo_handler());
  const Bytes payload = random_bytes(6 << 20, 12);
  auto echoed = echo(client, server, payload);
  ASSERT_TRUE(echoed.has_value()) << echoed.error().to_string();
  ASSERT_EQ(echoed->size(), payload.size());
  EXPECT_EQ(Hash::digest(*echoed), Hash::digest(payload));
  // One sendmsg per datagram on both sides.
  const UdpStats client_stats = stats_of(client);
  const UdpStats server_stats = stats_of(server);
  EXPECT_EQ(client_stats.send_calls, client_stats.datagrams_sent);
  EXPECT_EQ(server_stats.send_calls, server_stats.datagrams_sent);
  EXPECT_EQ(client_stats.gso_sends + server_stats.gso_sends, 0u);
  EXPECT_EQ(server_stats.coalesced_receives + client_stats.coalesced_receives, 0u);
  EXPECT_GT(client_stats.datagrams_sent, 1000u);
}

// A GSO sender and a receiver without GRO: the kernel splits the burst before delivery.
TEST(Gso, GsoSenderToReceiverWithoutGro) {
  auto server = bind_with({.gso = false, .gro = false});
  auto client = bind_with({.gso = true, .gro = true});
  server.register_protocol(alpn_of("test/echo"), echo_handler());
  const Bytes payload = random_bytes(4 << 20, 13);
  auto echoed = echo(client, server, payload);
  ASSERT_TRUE(echoed.has_value()) << echoed.error().to_string();
  EXPECT_EQ(Hash::digest(*echoed), Hash::digest(payload));
  EXPECT_GT(stats_of(client).gso_sends, 0u);
  EXPECT_EQ(stats_of(server).coalesced_receives, 0u);
}

// GSO and GRO over IPv6 (other address length, same control messages).
TEST(Gso, FourMebibytesOverIpv6ArriveIntact) {
  auto server = bind_with({}, CongestionControl::Cubic, true);
  auto client = bind_with({}, CongestionControl::Cubic, true);
  server.register_protocol(alpn_of("test/echo"), echo_handler());
  ASSERT_TRUE(server.local_address_v6().has_value());
  const Bytes payload = random_bytes(4 << 20, 15);
  auto echoed = echo(client, server, payload, true);
  ASSERT_TRUE(echoed.has_value()) << echoed.error().to_string();
  EXPECT_EQ(Hash::digest(*echoed), Hash::digest(payload));
  EXPECT_GT(stats_of(client).gso_sends, 0u);
  EXPECT_GT(stats_of(server).coalesced_receives, 0u);
}

class CongestionControlTest : public ::testing::TestWithParam<CongestionControl> {};

TEST_P(CongestionControlTest, FourMebibytesArriveIntact) {
  auto server = bind_with({}, GetParam());
  auto client = bind_with({}, GetParam());
  server.register_protocol(alpn_of("test/echo"), echo_handler());
  const Bytes payload = random_bytes(4 << 20, 14);
  auto echoed = echo(client, server, payload);
  ASSERT_TRUE(echoed.has_value()) << echoed.error().to_string();
  EXPECT_EQ(Hash::digest(*echoed), Hash::digest(payload));
}

INSTANTIATE_TEST_SUITE_P(Gso, CongestionControlTest,
                         ::testing::Values(CongestionControl::Cubic, CongestionControl::Reno,
                                           CongestionControl::Bbr, CongestionControl::Bbr2));

}  // namespace
}  // namespace p2panda::net::test
