// Streams across a path that loses packets: bytes arrive intact, and no memory is left behind
// when the connections end, including the STREAM frames that ngtcp2 0.12 forgets after partial
// retransmissions (see src/net/connection_memory.hpp).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "net/connection_memory.hpp"
#include "net_test_util.hpp"
#include "udp_relay.hpp"

namespace p2panda::net::test {
namespace {

// Many small writes become STREAM frames with many data vectors: the frames ngtcp2 0.12 takes
// from the heap, and loses when a retransmission shrinks them.
// The loss starts once the connection is up: what is tested is the transfer. A handshake through
// 15% loss, with no RTT sample yet, waits out probe timeouts of 1 s, 2 s and 4 s, and busy
// machines saw it outlast the short idle timeout (about 1 connect in 15).
Awaitable<Result<Bytes>> echo_in_small_writes(Endpoint& client, UdpRelay& relay,
                                              const PublicKey& server, const Bytes& payload,
                                              std::uint32_t seed) {
  relay.set_loss(0, seed);
  auto connection = co_await client.connect(relay.address(), server, alpn_of("test/echo"),
                                            ConnectOptions{.reuse = false});
  if (!connection) co_return Unexpected{connection.error()};
  relay.set_loss(0.15, seed);
  auto stream = co_await connection->open_bi();
  if (!stream) co_return Unexpected{stream.error()};
  constexpr std::size_t kWrite = 23;
  for (std::size_t at_byte = 0; at_byte < payload.size(); at_byte += kWrite) {
    auto piece = ByteSpan(payload).subspan(at_byte, std::min(kWrite, payload.size() - at_byte));
    if (auto ok = co_await stream->write(piece); !ok) co_return Unexpected{ok.error()};
  }
  if (auto ok = co_await stream->finish(); !ok) co_return Unexpected{ok.error()};
  auto echoed = co_await stream->read_to_end(payload.size() + 1);
  connection->close(0, "done");
  co_return echoed;
}

TEST(Loss, SmallWritesSurviveLossAndLeaveNoMemoryBehind) {
  TransportConfig transport;
  transport.idle_timeout = 2s;  // a close lost on the way ends the other side quickly
  auto server = make_endpoint(transport);
  auto client = make_endpoint(transport);
  server.register_protocol(alpn_of("test/echo"), echo_handler());
  UdpRelay relay(server.local_address());
  Bytes payload(256 << 10);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>(i * 31);
  const auto reclaimed_before = ConnectionMemory::reclaimed_total();

  for (int round = 0; round < 3; ++round) {
    auto echoed = run_on(client.executor(),
                         echo_in_small_writes(client, relay, server.node_id(), payload,
                                              static_cast<std::uint32_t>(11 + round)),
                         60s);
    ASSERT_TRUE(echoed.has_value()) << "timed out in round " << round;
    ASSERT_TRUE(echoed->has_value()) << echoed->error().to_string();
    ASSERT_EQ((*echoed)->size(), payload.size());
    EXPECT_TRUE(**echoed == payload);
  }
  EXPECT_GT(relay.dropped(), 0u);
  // Connections are freed once both sides are done with them.
  ASSERT_TRUE(eventually([&] { return client.stats().open_connections == 0; }, 10s));
  ASSERT_TRUE(eventually([&] { return server.stats().open_connections == 0; }, 10s));
  const auto reclaimed = ConnectionMemory::reclaimed_total() - reclaimed_before;
  std::printf("ngtcp2 blocks reclaimed after its connections ended: %llu\n",
              static_cast<unsigned long long>(reclaimed));
#if NGTCP2_VERSION_NUM < 0x010600
  // The upstream defect this guards against must show here, or the test proves nothing.
  EXPECT_GT(reclaimed, 0u) << "the lossy transfer no longer reaches ngtcp2 #1244";
#endif
}

TEST(ConnectionMemory, TracksEveryBlockUntilFreedOrReleased) {
  ConnectionMemory memory;
  const ngtcp2_mem* mem = memory.get();
  auto* a = static_cast<std::uint8_t*>(mem->malloc(100, mem->user_data));
  auto* b = static_cast<std::uint8_t*>(mem->calloc(4, 25, mem->user_data));
  auto* c = static_cast<std::uint8_t*>(mem->malloc(8, mem->user_data));
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a) % alignof(std::max_align_t), 0u);
  EXPECT_EQ(std::count(b, b + 100, 0), 100);
  std::memset(c, 7, 8);
  c = static_cast<std::uint8_t*>(mem->realloc(c, 4096, mem->user_data));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(std::count(c, c + 8, 7), 8);  // realloc keeps the contents
  EXPECT_EQ(memory.live_blocks(), 3u);
  mem->free(b, mem->user_data);
  mem->free(nullptr, mem->user_data);
  EXPECT_EQ(memory.live_blocks(), 2u);
  EXPECT_EQ(mem->calloc(SIZE_MAX / 2, 4, mem->user_data), nullptr);  // overflow, not a short block
  EXPECT_EQ(memory.live_blocks(), 2u);
  const auto before = ConnectionMemory::reclaimed_total();
  EXPECT_EQ(memory.release_all(), 2u);  // a and c
  EXPECT_EQ(memory.live_blocks(), 0u);
  EXPECT_EQ(ConnectionMemory::reclaimed_total() - before, 2u);
}

}  // namespace
}  // namespace p2panda::net::test
