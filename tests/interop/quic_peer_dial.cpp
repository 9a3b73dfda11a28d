// quic_peer dial: handshake with an expected node id and ALPN, then either an echo round trip or
// a sink-and-hash transfer; the outcome is one JSON line and an exit code (quic_peer.hpp).
#include <chrono>
#include <future>

#include <p2panda/hash.hpp>

#include "quic_peer.hpp"

// g++ 12 reports -Wmismatched-new-delete for asio's coroutine frames (class-specific operator
// new/delete that recycle frames) once it inlines them: a false positive, not our allocation.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace p2panda::interop {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Fills `chunk` with the payload bytes that start at `offset`.
void fill_pattern(std::vector<std::uint8_t>& chunk, std::uint64_t offset) {
  for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = pattern_byte(offset + i);
}

// Prints the error line of a failed run (with `extra` fields) and returns its exit code.
int report(int code, const char* phase, const char* step, const std::string& message,
           nlohmann::json extra = nlohmann::json::object()) {
  extra.update(
      {{"event", "error"}, {"phase", phase}, {"step", step}, {"message", message}, {"exit", code}});
  emit(extra);
  return code;
}

// An error after the handshake: a lost connection has its own exit code, the rest is a failure.
int stream_failure(const net::Connection& connection, const Error& error, const char* step) {
  const auto info = connection.close_info();
  const int code = info ? classify_close(info) : kExitFailed;
  return report(code, "stream", step, error.to_string(),
                {{"close", info ? info->to_string() : std::string("open")}});
}

net::Awaitable<int> echo_round_trip(net::Connection connection, std::size_t size,
                                    Clock::time_point start) {
  auto stream = co_await connection.open_bi();
  if (!stream) co_return stream_failure(connection, stream.error(), "open_bi");
  std::vector<std::uint8_t> payload(size);
  fill_pattern(payload, 0);
  // Write everything, then read: fine while `size` fits the stream windows (checked in main).
  auto written = co_await stream->write(payload);
  if (!written) co_return stream_failure(connection, written.error(), "write");
  auto finished = co_await stream->finish();
  if (!finished) co_return stream_failure(connection, finished.error(), "finish");
  auto echo = co_await stream->read_to_end(size + 1);
  if (!echo) co_return stream_failure(connection, echo.error(), "read");
  if (*echo != payload) {
    co_return report(kExitMismatch, "stream", "compare",
                     "echo differs: sent " + std::to_string(size) + " bytes, got " +
                         std::to_string(echo->size()));
  }
  emit({{"event", "done"},
        {"ok", true},
        {"mode", "echo"},
        {"bytes", size},
        {"ms", ms_since(start)}});
  co_return kExitOk;
}

net::Awaitable<int> sink_transfer(net::Connection connection, std::uint64_t total,
                                  Clock::time_point start) {
  auto stream = co_await connection.open_bi();
  if (!stream) co_return stream_failure(connection, stream.error(), "open_bi");
  auto marked = co_await stream->write(as_bytes(kSinkMarker));
  if (!marked) co_return stream_failure(connection, marked.error(), "write");
  const auto send_start = Clock::now();
  Hasher hasher;
  // A multiple of 251, so every chunk holds the same bytes and is filled once.
  std::vector<std::uint8_t> chunk(251 * 256);
  fill_pattern(chunk, 0);
  for (std::uint64_t offset = 0; offset < total; offset += chunk.size()) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), total - offset));
    const ByteSpan piece(chunk.data(), n);
    hasher.update(piece);
    auto written = co_await stream->write(piece);
    if (!written) co_return stream_failure(connection, written.error(), "write");
  }
  auto finished = co_await stream->finish();
  if (!finished) co_return stream_failure(connection, finished.error(), "finish");
  auto reply = co_await stream->read_to_end(kSinkReplySize);
  if (!reply && reply.error().code() == Errc::InvalidLength) {
    // A longer reply: the server echoed instead of hashing (an echo-only peer such as iroh's).
    co_return report(kExitMismatch, "stream", "compare",
                     "reply longer than a hash: " + reply.error().to_string());
  }
  if (!reply) co_return stream_failure(connection, reply.error(), "read");

  const Hash expected = hasher.finalize();
  std::uint64_t count = 0;
  std::string got_hash;
  if (reply->size() == kSinkReplySize) {
    for (std::size_t i = 0; i < 8; ++i) count |= std::uint64_t{(*reply)[i]} << (8 * i);
    got_hash = to_hex(ByteSpan(reply->data() + 8, 32));
  }
  if (reply->size() != kSinkReplySize || count != total || got_hash != expected.to_hex()) {
    co_return report(kExitMismatch, "stream", "compare", "hash reply differs",
                     {{"reply", to_hex(*reply)},
                      {"expected_bytes", total},
                      {"expected_blake3", expected.to_hex()}});
  }
  const double transfer_ms = ms_since(send_start);
  emit({{"event", "done"},
        {"ok", true},
        {"mode", "sink"},
        {"bytes", total},
        {"blake3", expected.to_hex()},
        {"ms", ms_since(start)},
        {"transfer_ms", transfer_ms},
        {"mbit_s", transfer_ms > 0 ? static_cast<double>(total) * 8 / 1000 / transfer_ms : 0.0}});
  co_return kExitOk;
}

net::Awaitable<int> dial(net::Endpoint& endpoint, const DialOptions& options) {
  const auto start = Clock::now();
  auto connected = co_await endpoint.connect(options.address, options.node_id, options.alpn);
  if (!connected) {
    co_return report(classify_handshake_error(connected.error()), "handshake", "connect",
                     connected.error().to_string());
  }
  net::Connection connection = std::move(*connected);
  // connect() already refused any other key; checked again because this is what the test is for.
  if (connection.remote_id() != options.node_id) {
    co_return report(kExitKeyRefused, "handshake", "verify", "remote id differs");
  }
  emit({{"event", "connected"},
        {"remote", connection.remote_id().to_hex()},
        {"alpn", alpn_text(connection.alpn())},
        {"handshake_ms", ms_since(start)}});
  int code = kExitOk;
  if (options.bytes) {
    code = co_await sink_transfer(connection, *options.bytes, start);
  } else {
    code = co_await echo_round_trip(connection, options.echo_bytes, start);
  }
  connection.close(0, "done");
  co_return code;
}

}  // namespace

int run_dial(DialOptions options) {
  auto endpoint = net::Endpoint::bind(std::move(options.endpoint));
  if (!endpoint) {
    return report(kExitFailed, "bind", "bind", endpoint.error().to_string());
  }
  const auto local = endpoint->local_address();
  emit({{"event", "bound"},
        {"node_id", endpoint->node_id().to_hex()},
        {"addr", local.address().to_string() + ":" + std::to_string(local.port())}});
  auto future = asio::co_spawn(endpoint->executor(), dial(*endpoint, options), asio::use_future);
  if (future.wait_for(options.timeout) != std::future_status::ready) {
    report(kExitTimeout, "run", "wait",
           "no result within " + std::to_string(options.timeout.count()) + " s");
    // Destroying the endpoint ends the pending coroutine (its operations fail) before it returns.
    end_output();
    return kExitTimeout;
  }
  return future.get();
}

int classify_handshake_error(const Error& error) {
  const std::string& text = error.message();
  const auto has = [&](std::string_view part) { return text.find(part) != std::string::npos; };
  if (error.code() == Errc::TimedOut) return kExitTimeout;
  if (error.code() != Errc::TlsRefused) return kExitFailed;
  // We refused the peer's key (TlsSession's verify rule names both keys).
  if (has("presented key") || has("not a single Ed25519") || has("did not present a raw")) {
    return kExitKeyRefused;
  }
  // The peer's CONNECTION_CLOSE carries a TLS alert (RFC 9001 4.8), named in the message.
  const auto alert = [&](int tls_alert) {
    return has("(TLS alert " + std::to_string(tls_alert) + ")");
  };
  if (alert(120)) return kExitAlpnRefused;  // no_application_protocol
  // bad_certificate, unsupported_certificate, certificate_unknown, unknown_ca, decrypt_error:
  // what a peer answers when it refuses our key.
  for (int tls_alert : {42, 43, 46, 48, 51}) {
    if (alert(tls_alert)) return kExitKeyRefused;
  }
  return kExitFailed;
}

int classify_close(const std::optional<net::CloseInfo>& info) {
  if (info && info->kind == net::CloseInfo::Kind::IdleTimeout) return kExitConnectionLost;
  return kExitFailed;
}

}  // namespace p2panda::interop
