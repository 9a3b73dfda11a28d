// Many connect/close cycles between two endpoints in one process. Afterwards both endpoints must
// be back to zero live connections and zero connection ids, and every accepted handler must have
// returned; an ASan build (-DP2PANDA_SANITIZE=address) adds the check that nothing leaked.
//
// P2PANDA_NET_CYCLES sets the count (default 2,000; the full check is 10,000, see docs/net.md).
#include <cstdio>
#include <cstdlib>

#include "net_test_util.hpp"

namespace p2panda::net::test {
namespace {

int cycles_from_env() {
  const char* text = std::getenv("P2PANDA_NET_CYCLES");
  if (text == nullptr) return 2000;
  int cycles = std::atoi(text);
  return cycles > 0 ? cycles : 2000;
}

TEST(Leak, ConnectCloseCyclesReturnEveryResource) {
  const int cycles = cycles_from_env();
  // A close lost on the way leaves the server's side to its idle timeout: keep that short.
  TransportConfig transport;
  transport.idle_timeout = 2s;
  auto server = make_endpoint(transport);
  auto client = make_endpoint(transport);
  std::atomic<int> handlers_running{0};
  std::atomic<int> accepted{0};
  server.register_protocol(alpn_of("test/cycle"), [&](Connection connection) -> Awaitable<void> {
    ++handlers_running;
    ++accepted;
    co_await connection.closed();
    --handlers_running;
  });
  auto started = std::chrono::steady_clock::now();
  auto done = run_on(
      client.executor(),
      [&]() -> Awaitable<Result<int>> {
        int ok = 0;
        for (int i = 0; i < cycles; ++i) {
          auto connection =
              co_await client.connect(server.local_address(), server.node_id(),
                                      alpn_of("test/cycle"), ConnectOptions{.reuse = false});
          if (!connection) co_return Unexpected{connection.error()};
          if (i % 2 == 0) {  // every other cycle also moves a few bytes on a stream
            auto stream = co_await connection->open_bi();
            if (!stream) co_return Unexpected{stream.error()};
            auto wrote = co_await stream->write(as_bytes("ping"));
            if (!wrote) co_return Unexpected{wrote.error()};
          }
          connection->close(0, "cycle");
          ++ok;
        }
        co_return ok;
      }(),
      std::chrono::milliseconds(60 * cycles + 10'000));
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
  ASSERT_TRUE(done.has_value()) << "timed out";
  ASSERT_TRUE(done->has_value()) << done->error().to_string();
  EXPECT_EQ(**done, cycles);
  std::printf("%d connect/close cycles in %.2f s: %.0f cycles/s\n", cycles, elapsed.count(),
              cycles / elapsed.count());

  auto client_stats = client.stats();
  EXPECT_EQ(client_stats.open_connections, 0u);
  EXPECT_EQ(client_stats.connection_ids, 0u);
  EXPECT_EQ(client_stats.handshakes_completed, static_cast<std::uint64_t>(cycles));
  // The server settles once the last CONNECTION_CLOSE (or, if one was lost, its idle timeout).
  EXPECT_TRUE(eventually([&] { return server.stats().open_connections == 0; }, 10s));
  auto server_stats = server.stats();
  EXPECT_EQ(server_stats.open_connections, 0u);
  EXPECT_EQ(server_stats.connection_ids, 0u);
  EXPECT_TRUE(eventually([&] { return handlers_running.load() == 0; }));
  EXPECT_EQ(accepted.load(), cycles);
  std::printf("server: %llu packets / %llu bytes received, %llu packets sent\n",
              static_cast<unsigned long long>(server_stats.packets_received),
              static_cast<unsigned long long>(server_stats.bytes_received),
              static_cast<unsigned long long>(server_stats.packets_sent));
}

}  // namespace
}  // namespace p2panda::net::test
