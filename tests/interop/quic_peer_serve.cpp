// quic_peer serve: echo every bidirectional stream, or sink-and-hash it when it starts with the
// sink marker. Runs until SIGTERM/SIGINT, or fails when its lifetime is over.
#include <algorithm>
#include <array>
#include <csignal>
#include <cstring>
#include <ctime>

#include <p2panda/hash.hpp>

#include "quic_peer.hpp"

namespace p2panda::interop {
namespace {

constexpr std::size_t kReadChunk = 64 << 10;

bool is_marker_prefix(const Bytes& head) {
  const std::size_t n = std::min(head.size(), kSinkMarker.size());
  return std::equal(head.begin(), head.begin() + static_cast<std::ptrdiff_t>(n),
                    as_bytes(kSinkMarker).begin());
}

// Sends back everything, `head` (already read) first, as it arrives; the writer's backpressure
// (write() waits on unacknowledged bytes) keeps memory bounded for any size.
net::Awaitable<Result<std::uint64_t>> echo(net::Stream stream, Bytes head) {
  std::uint64_t total = head.size();
  if (!head.empty()) {
    auto written = co_await stream.write(head);
    if (!written) co_return Unexpected{written.error()};
  }
  std::vector<std::uint8_t> buffer(kReadChunk);
  for (;;) {
    auto n = co_await stream.read_some(buffer);
    if (!n) co_return Unexpected{n.error()};
    if (*n == 0) break;
    total += *n;
    auto written = co_await stream.write(ByteSpan(buffer.data(), *n));
    if (!written) co_return Unexpected{written.error()};
  }
  auto finished = co_await stream.finish();
  if (!finished) co_return Unexpected{finished.error()};
  co_return total;
}

// Hashes everything after the marker (`rest` is the part already read) and replies with
// count || BLAKE3.
net::Awaitable<Result<std::pair<std::uint64_t, Hash>>> sink(net::Stream stream, Bytes rest) {
  Hasher hasher;
  hasher.update(rest);
  std::uint64_t total = rest.size();
  std::vector<std::uint8_t> buffer(kReadChunk);
  for (;;) {
    auto n = co_await stream.read_some(buffer);
    if (!n) co_return Unexpected{n.error()};
    if (*n == 0) break;
    hasher.update(ByteSpan(buffer.data(), *n));
    total += *n;
  }
  const Hash hash = hasher.finalize();
  std::array<std::uint8_t, kSinkReplySize> reply{};
  for (std::size_t i = 0; i < 8; ++i) reply[i] = static_cast<std::uint8_t>(total >> (8 * i));
  std::copy(hash.bytes().begin(), hash.bytes().end(), reply.begin() + 8);
  auto written = co_await stream.write(reply);
  if (!written) co_return Unexpected{written.error()};
  auto finished = co_await stream.finish();
  if (!finished) co_return Unexpected{finished.error()};
  co_return std::pair{total, hash};
}

// A failed stream is reported and the connection's other streams go on.
void stream_error(const std::string& remote, const Error& error) {
  emit({{"event", "error"}, {"remote", remote}, {"message", error.to_string()}, {"fatal", false}});
}

net::Awaitable<void> serve_stream(net::Stream stream, std::string remote) {
  // Read until the first bytes either are the whole marker or cannot become it.
  Bytes head;
  std::vector<std::uint8_t> buffer(kReadChunk);
  while (head.size() < kSinkMarker.size() && is_marker_prefix(head)) {
    auto n = co_await stream.read_some(buffer);
    if (!n) {
      stream_error(remote, n.error());
      co_return;
    }
    if (*n == 0) break;
    head.insert(head.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(*n));
  }
  const bool is_sink = head.size() >= kSinkMarker.size() && is_marker_prefix(head);
  if (!is_sink) {
    auto echoed = co_await echo(stream, std::move(head));
    if (echoed) {
      emit({{"event", "echoed"}, {"remote", remote}, {"bytes", *echoed}});
    } else {
      stream_error(remote, echoed.error());
    }
    co_return;
  }
  emit({{"event", "sink_started"}, {"remote", remote}});
  auto summed = co_await sink(stream, Bytes(head.begin() + kSinkMarker.size(), head.end()));
  if (summed) {
    emit({{"event", "hashed"},
          {"remote", remote},
          {"bytes", summed->first},
          {"blake3", summed->second.to_hex()}});
  } else {
    stream_error(remote, summed.error());
  }
}

net::Awaitable<void> serve_connection(net::Connection connection) {
  const std::string remote = connection.remote_id().to_hex();
  emit({{"event", "accepted"},
        {"remote", remote},
        {"alpn", alpn_text(connection.alpn())},
        {"from", connection.remote_address().address().to_string() + ":" +
                     std::to_string(connection.remote_address().port())}});
  auto executor = co_await asio::this_coro::executor;
  for (;;) {
    auto stream = co_await connection.accept_bi();
    if (!stream) break;
    // Streams run concurrently, each as its own coroutine.
    asio::co_spawn(executor, serve_stream(std::move(*stream), remote), asio::detached);
  }
  const auto info = connection.close_info();
  emit({{"event", "closed"},
        {"remote", remote},
        {"reason", info ? info->to_string() : std::string("unknown")}});
}

}  // namespace

int run_serve(ServeOptions options) {
  // Block the stop signals before the endpoint thread starts, so that it inherits the mask and
  // only sigtimedwait() below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto endpoint = net::Endpoint::bind(std::move(options.endpoint));
  if (!endpoint) {
    emit({{"event", "error"},
          {"message", endpoint.error().to_string()},
          {"fatal", true},
          {"phase", "bind"}});
    return kExitFailed;
  }
  endpoint->register_protocol(options.alpn, serve_connection);
  const auto local = endpoint->local_address();
  emit({{"event", "ready"},
        {"node_id", endpoint->node_id().to_hex()},
        {"addr", local.address().to_string() + ":" + std::to_string(local.port())},
        {"port", local.port()},
        {"alpn", alpn_text(options.alpn)}});

  timespec lifetime{static_cast<std::time_t>(options.lifetime.count()), 0};
  const int signal = sigtimedwait(&stop_signals, nullptr, &lifetime);
  if (signal < 0) {
    emit({{"event", "error"},
          {"message", "lifetime over and nobody stopped the server"},
          {"fatal", true},
          {"phase", "serve"}});
    return kExitTimeout;
  }
  emit({{"event", "stopped"}, {"signal", signal}});
  return kExitOk;
}

}  // namespace p2panda::interop
