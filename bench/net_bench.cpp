// QUIC transport figures (issue 5), two endpoints in one process on 127.0.0.1, each with its own
// thread, so client and server share this machine's cores:
//   quic_handshake_p50_ms     connect (full handshake, Ed25519 keys checked both ways), open a
//                             stream, send 1 byte, read the 1-byte reply: median of 200 (goal < 3)
//   quic_handshakes_per_s     the same, 16 in flight at once, 2,000 in all (goal >= 1,000)
//   quic_stream_mb_s          100 MiB on one stream, from the first write until the receiver's
//                             1-byte confirmation: median of 3 (goal >= 400); _nogso with GSO and
//                             GRO off; _reno, _bbr, _bbr2 with those congestion controllers
//   quic_64streams_mb_s       100 MiB split over 64 parallel streams of one connection
//   udp_loopback_mb_s         raw UDP over the same sockets, 1,444-byte datagrams (the QUIC packet
//                             size), GSO sends / GRO receives: the ceiling; _nogso one per call
//   *_datagrams_per_send, *_datagrams_per_receive   how well the batching worked
// MB = 10^6 bytes.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include "figures.hpp"
#include "net/endpoint.hpp"
#include "net/udp_batch.hpp"
#include "net/udp_socket.hpp"

namespace p2panda::net::bench {
namespace {

using Clock = std::chrono::steady_clock;
using p2panda::bench::Figures;

constexpr std::size_t kTransferBytes = 100 << 20;
constexpr std::size_t kChunk = 1 << 20;
// The size of the QUIC packets of a bulk transfer here (seen with strace: 45-segment GSO sends of
// 64,980 bytes), after ngtcp2's path MTU probing raised them from 1,200 bytes.
constexpr std::size_t kDatagram = 1444;
const Bytes kAlpn = {'b', 'e', 'n', 'c', 'h'};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// User plus system time of this process (every thread) so far.
double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

template <class T>
T run_on(Endpoint& endpoint, Awaitable<T> coroutine) {
  return asio::co_spawn(endpoint.executor(), std::move(coroutine), asio::use_future).get();
}

// Reads each stream to its end, then replies with one byte: the sender's proof of delivery.
Awaitable<void> sink(Stream stream) {
  std::vector<std::uint8_t> buffer(256 << 10);
  for (;;) {
    auto n = co_await stream.read_some(buffer);
    if (!n) co_return;
    if (*n == 0) break;
  }
  const std::uint8_t reply[1] = {'k'};
  auto written = co_await stream.write(ByteSpan(reply, 1));
  if (written) (void)co_await stream.finish();
}

ProtocolHandler sink_handler() {
  return [](Connection connection) -> Awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    for (;;) {
      auto stream = co_await connection.accept_bi();
      if (!stream) co_return;
      asio::co_spawn(executor, sink(std::move(*stream)), asio::detached);
    }
  };
}

// Sends `bytes` on a new stream and waits for the sink's reply. False on any error.
Awaitable<bool> send_confirmed(Connection connection, std::size_t bytes, const Bytes& chunk) {
  auto stream = co_await connection.open_bi();
  if (!stream) co_return false;
  while (bytes > 0) {
    const std::size_t n = std::min(bytes, chunk.size());
    auto written = co_await stream->write(ByteSpan(chunk.data(), n));
    if (!written) co_return false;
    bytes -= n;
  }
  auto finished = co_await stream->finish();
  if (!finished) co_return false;
  auto reply = co_await stream->read_to_end(16);
  co_return reply.has_value() && reply->size() == 1;
}

struct Pair {
  Endpoint server;
  Endpoint client;

  static Endpoint make(UdpOptions udp, CongestionControl cc) {
    EndpointConfig config;
    config.udp = udp;
    config.transport.congestion_control = cc;
    config.transport.handshake_timeout = std::chrono::milliseconds(60'000);
    auto endpoint = Endpoint::bind(std::move(config));
    if (!endpoint) throw std::runtime_error(endpoint.error().to_string());
    return std::move(*endpoint);
  }
  explicit Pair(UdpOptions udp = {}, CongestionControl cc = CongestionControl::Cubic)
      : server(make(udp, cc)), client(make(udp, cc)) {
    server.register_protocol(kAlpn, sink_handler());
  }
  std::optional<Connection> connect() {
    auto connection = run_on(client, [this]() -> Awaitable<std::optional<Connection>> {
      auto result = co_await client.connect(server.local_address(), server.node_id(), kAlpn);
      if (!result) co_return std::nullopt;
      co_return std::move(*result);
    }());
    return connection;
  }
  UdpStats stats(Endpoint& endpoint) {
    return run_on(endpoint, [&]() -> Awaitable<UdpStats> { co_return endpoint.udp_stats(); }());
  }
};

void handshake_latency(benchmark::State& state) {
  Pair pair;
  std::vector<double> samples;
  for (auto _ : state) {
    samples = run_on(pair.client, [&]() -> Awaitable<std::vector<double>> {
      std::vector<double> ms;
      const Bytes one = {1};
      for (int i = 0; i < 200; ++i) {
        const auto start = Clock::now();
        auto connection =
            co_await pair.client.connect(pair.server.local_address(), pair.server.node_id(), kAlpn);
        if (!connection) co_return std::vector<double>{};
        const bool ok = co_await send_confirmed(*connection, 1, one);
        if (!ok) co_return std::vector<double>{};
        ms.push_back(seconds_since(start) * 1e3);
        connection->close(0, "done");
      }
      co_return ms;
    }());
  }
  if (samples.empty()) return state.SkipWithError("a handshake failed");
  std::sort(samples.begin(), samples.end());
  state.counters["quic_handshake_p50_ms"] = samples[samples.size() / 2];
  state.counters["quic_handshake_p90_ms"] = samples[samples.size() * 9 / 10];
}

void handshake_rate(benchmark::State& state) {
  constexpr int kTotal = 2000, kInFlight = 16;
  Pair pair;
  double rate = 0;
  for (auto _ : state) {
    std::atomic<int> started{0}, failed{0};
    const Bytes one = {1};
    auto worker = [&]() -> Awaitable<void> {
      while (started.fetch_add(1) < kTotal) {
        auto connection =
            co_await pair.client.connect(pair.server.local_address(), pair.server.node_id(), kAlpn);
        if (!connection) {
          ++failed;
          continue;
        }
        const bool ok = co_await send_confirmed(*connection, 1, one);
        if (!ok) ++failed;
        connection->close(0, "done");
      }
    };
    const auto start = Clock::now();
    std::vector<std::future<void>> done;
    for (int i = 0; i < kInFlight; ++i) {
      done.push_back(asio::co_spawn(pair.client.executor(), worker(), asio::use_future));
    }
    for (auto& future : done) future.get();
    rate = kTotal / seconds_since(start);
    if (failed > 0) return state.SkipWithError("handshakes failed");
  }
  state.counters["quic_handshakes_per_s"] = rate;
}

// Runs `streams` parallel transfers of kTransferBytes in all, three times; sets the median MB/s
// as `figure`. With `diagnostics` also: datagrams per system call (both directions summed),
// datagrams lost to full socket buffers, and CPU time of the whole process (both endpoints) per
// transferred byte, which other load on the machine disturbs far less than the rate.
void transfer(benchmark::State& state, const char* figure, std::size_t streams, UdpOptions udp,
              CongestionControl cc, bool diagnostics = true) {
  Pair pair(udp, cc);
  const Bytes chunk(kChunk, 0x5a);
  std::vector<double> rates;
  const double cpu_start = process_cpu_seconds();
  for (auto _ : state) {
    for (int round = 0; round < 3; ++round) {
      auto connection = pair.connect();
      if (!connection) return state.SkipWithError("connect failed");
      const auto start = Clock::now();
      std::vector<std::future<bool>> done;
      for (std::size_t i = 0; i < streams; ++i) {
        done.push_back(asio::co_spawn(pair.client.executor(),
                                      send_confirmed(*connection, kTransferBytes / streams, chunk),
                                      asio::use_future));
      }
      bool ok = true;
      for (auto& future : done) ok = future.get() && ok;
      if (!ok) return state.SkipWithError("transfer failed");
      rates.push_back(static_cast<double>(kTransferBytes) / seconds_since(start) / 1e6);
      run_on(pair.client, [&]() -> Awaitable<void> {
        connection->close(0, "done");
        co_return;
      }());
    }
  }
  const double cpu = process_cpu_seconds() - cpu_start;
  const std::string name = figure;
  state.counters[name] = median(rates);
  if (!diagnostics) return;
  const UdpStats client = pair.stats(pair.client), server = pair.stats(pair.server);
  const auto per = [](std::uint64_t a, std::uint64_t b) {
    return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
  };
  state.counters[name + "_cpu_ns_per_byte"] = cpu * 1e9 / (3.0 * kTransferBytes);
  state.counters[name + "_datagrams_per_send"] =
      per(client.datagrams_sent + server.datagrams_sent, client.send_calls + server.send_calls);
  state.counters[name + "_datagrams_per_receive"] =
      per(client.datagrams_received + server.datagrams_received,
          client.receive_calls + server.receive_calls);
  state.counters[name + "_lost_sends"] =
      static_cast<double>(client.dropped_sends + server.dropped_sends);
}

void stream_gso(benchmark::State& s) { transfer(s, "quic_stream_mb_s", 1, {}, {}); }
void stream_nogso(benchmark::State& s) {
  transfer(s, "quic_stream_mb_s_nogso", 1, {.gso = false, .gro = false}, {});
}
void stream_reno(benchmark::State& s) {
  transfer(s, "quic_stream_mb_s_reno", 1, {}, CongestionControl::Reno, false);
}
void stream_bbr(benchmark::State& s) {
  transfer(s, "quic_stream_mb_s_bbr", 1, {}, CongestionControl::Bbr, false);
}
void stream_bbr2(benchmark::State& s) {
  transfer(s, "quic_stream_mb_s_bbr2", 1, {}, CongestionControl::Bbr2, false);
}
void streams64(benchmark::State& s) { transfer(s, "quic_64streams_mb_s", 64, {}, {}); }

// Raw UDP: one thread sends kDatagram-byte datagrams as fast as the socket takes them, the receiver
// (its own io_context thread) counts what arrives. Rate: bytes received / time until the last.
void udp_loopback(benchmark::State& state, const char* figure, UdpOptions udp) {
  constexpr std::size_t kTotal = 400 << 20;
  double rate = 0, lost = 0;
  for (auto _ : state) {
    asio::io_context receiver_io, sender_io;
    auto receiver = UdpSocket::open(receiver_io, {asio::ip::address_v4::loopback(), 0}, udp);
    auto sender = UdpSocket::open(sender_io, {asio::ip::address_v4::loopback(), 0}, udp);
    if (!receiver || !sender) return state.SkipWithError("bind failed");
    std::atomic<std::size_t> received{0};
    std::atomic<std::int64_t> last_ns{0};
    (*receiver)->start(
        [&](UdpSocket&, const SocketAddress&, ByteSpan datagram) {
          received.fetch_add(datagram.size(), std::memory_order_relaxed);
        },
        [&] { last_ns = Clock::now().time_since_epoch().count(); });
    std::thread thread([&] { receiver_io.run(); });
    const SocketAddress to = (*receiver)->local();
    const auto start = Clock::now();
    auto storage = (*sender)->send_storage();
    std::fill(storage.begin(), storage.end(), std::uint8_t{0x5a});
    SendBatch batch(storage, kDatagram, kMaxGsoSegments);
    for (std::size_t sent = 0; sent < kTotal; sent += kDatagram) {
      if (batch.commit(kDatagram) == SendBatch::Next::Write) continue;
      (*sender)->send(to, batch.pending(), batch.segment_size());
      batch.clear();
    }
    // Done when nothing more arrived for 100 ms.
    std::size_t seen = 0;
    do {
      seen = received;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } while (received != seen);
    asio::post(receiver_io, [&] { (*receiver)->close(); });
    thread.join();
    const double elapsed =
        std::chrono::duration<double>(Clock::time_point(Clock::duration(last_ns.load())) - start)
            .count();
    rate = static_cast<double>(received) / elapsed / 1e6;
    lost = 1.0 - static_cast<double>(received) / static_cast<double>(kTotal);
  }
  state.counters[figure] = rate;
  state.counters[std::string(figure) + "_lost_fraction"] = lost;
}

void udp_gso(benchmark::State& s) { udp_loopback(s, "udp_loopback_mb_s", {}); }
void udp_nogso(benchmark::State& s) {
  udp_loopback(s, "udp_loopback_mb_s_nogso", {.gso = false, .gro = false});
}

#define NET_BENCHMARK(f) BENCHMARK(f)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime()
NET_BENCHMARK(handshake_latency);
NET_BENCHMARK(handshake_rate);
NET_BENCHMARK(udp_gso);
NET_BENCHMARK(udp_nogso);
NET_BENCHMARK(stream_gso);
NET_BENCHMARK(stream_nogso);
NET_BENCHMARK(stream_reno);
NET_BENCHMARK(stream_bbr);
NET_BENCHMARK(stream_bbr2);
NET_BENCHMARK(streams64);

}  // namespace
}  // namespace p2panda::net::bench

int main(int argc, char** argv) { return p2panda::bench::run_benchmarks(argc, argv, {}, {}); }
