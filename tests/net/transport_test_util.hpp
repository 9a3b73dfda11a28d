// Helpers for tests written against net::Transport: a network factory that makes nodes of either
// kind (SimTransport on a SimHub, each node on its own io_context thread; or QuicTransport on
// 127.0.0.1), and small protocol handlers and coroutines the conformance tests share.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/quic_transport.hpp"
#include "net/sim_transport.hpp"
#include "net_test_util.hpp"

namespace p2panda::net::test {

// One thread running an io_context until destroyed: a simulated node's "network thread".
class IoThread {
 public:
  IoThread() : work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~IoThread() {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  asio::any_io_executor executor() { return io_.get_executor(); }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

enum class Kind { Sim, Quic };

inline std::string kind_name(Kind kind) { return kind == Kind::Sim ? "Sim" : "Quic"; }

// Makes nodes; owns what they run on. Destroy every transport (and handle) before it.
class TestNetwork {
 public:
  explicit TestNetwork(Kind kind, SimHubConfig sim = {}) : kind_(kind) {
    if (kind == Kind::Sim) hub_ = SimHub::create(sim);
  }

  std::shared_ptr<Transport> add_node(TransportConfig quic = {}) {
    if (kind_ == Kind::Sim) {
      threads_.push_back(std::make_unique<IoThread>());
      return hub_->add(PrivateKey::generate(), threads_.back()->executor());
    }
    EndpointConfig config;
    config.transport = quic;
    auto transport = QuicTransport::bind(std::move(config));
    EXPECT_TRUE(transport.has_value()) << transport.error().to_string();
    return transport ? *transport : nullptr;
  }

  static PeerAddress address_of(const Transport& transport) {
    return PeerAddress{transport.node_id(), transport.local_addresses()};
  }

  Kind kind() const { return kind_; }
  const std::shared_ptr<SimHub>& hub() const { return hub_; }

 private:
  Kind kind_;
  std::shared_ptr<SimHub> hub_;
  std::vector<std::unique_ptr<IoThread>> threads_;
};

inline Bytes bytes_of(std::string_view text) { return Bytes(text.begin(), text.end()); }

// Deterministic test data that shows reordering, gaps and duplicates.
inline Bytes pattern(std::size_t size, std::uint32_t salt = 0) {
  Bytes data(size);
  std::uint32_t x = 2463534242u ^ salt;
  for (auto& byte : data) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    byte = static_cast<std::uint8_t>(x);
  }
  return data;
}

// Echoes every frame on a stream, then finishes when the peer does.
inline Awaitable<void> echo_frames(StreamHandle stream) {
  for (;;) {
    auto frame = co_await read_frame(*stream, 16 << 20);
    if (!frame || !*frame) break;
    auto written = co_await write_frame(*stream, **frame);
    if (!written) co_return;
  }
  auto finished = co_await stream->finish();
  (void)finished;
}

// Accepts streams for as long as the connection lives and echoes frames on each.
inline TransportHandler echo_handler_for_transport() {
  return [](ConnectionHandle connection) -> Awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    for (;;) {
      auto stream = co_await connection->accept_bi();
      if (!stream) co_return;
      asio::co_spawn(executor, echo_frames(std::move(*stream)), asio::detached);
    }
  };
}

// Everything until the peer finishes, or the error that ended the stream.
inline Awaitable<Result<Bytes>> read_all(StreamHandle stream, std::size_t limit = 64 << 20) {
  Bytes all;
  std::vector<std::uint8_t> chunk(64 * 1024);
  for (;;) {
    auto got = co_await stream->read_some(chunk);
    if (!got) co_return Unexpected{std::move(got).error()};
    if (*got == 0) co_return all;
    if (all.size() + *got > limit) co_return fail(Errc::InvalidLength, "over limit");
    all.insert(all.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(*got));
  }
}

// A door a coroutine waits at until the test thread opens it; wake-ups are real events.
class Gate {
 public:
  explicit Gate(asio::any_io_executor executor)
      : executor_(executor), timer_(executor, asio::steady_timer::time_point::max()) {}
  // Coroutine side, on the gate's executor.
  Awaitable<void> wait() {
    while (!open_) co_await timer_.async_wait(use_tuple);
  }
  // Any thread.
  void open() {
    asio::post(executor_, [this] {
      open_ = true;
      timer_.cancel();
    });
  }

 private:
  asio::any_io_executor executor_;
  asio::steady_timer timer_;
  bool open_ = false;
};

using ResultBox = Mailbox<Result<void>>;
using BytesBox = Mailbox<Result<Bytes>>;

// Connects and opens a stream; the connection is returned to close it later.
inline Awaitable<Result<std::pair<ConnectionHandle, StreamHandle>>> open_stream(
    std::shared_ptr<Transport> client, PeerAddress server, Bytes alpn) {
  auto connection = co_await client->connect(server, alpn);
  if (!connection) co_return Unexpected{std::move(connection).error()};
  auto stream = co_await (*connection)->open_bi();
  if (!stream) co_return Unexpected{std::move(stream).error()};
  co_return std::pair{*connection, *stream};
}

// g++ 12 destroys a lambda temporary passed to a coroutine inside a co_await expression twice,
// so these helpers are plain coroutines without lambda arguments.

// Reads a whole stream into `box`, then answers with an empty frame so the writer knows.
inline TransportHandler sink_into(std::shared_ptr<BytesBox> box,
                                  std::shared_ptr<Gate> gate = nullptr) {
  return [box, gate](ConnectionHandle connection) -> Awaitable<void> {
    auto stream = co_await connection->accept_bi();
    if (!stream) {
      box->put(Unexpected{std::move(stream).error()});
      co_return;
    }
    if (gate) co_await gate->wait();
    auto data = co_await read_all(*stream);
    bool ok = data.has_value();
    box->put(std::move(data));
    if (!ok) co_return;
    auto acked = co_await write_frame(**stream, Bytes{});
    (void)acked;
    auto closed = co_await connection->closed();
    (void)closed;
  };
}

// Writes `data` in `chunk`-byte writes (all at once when 0), finishes, waits for the sink's ack.
inline Awaitable<Result<void>> send_all(
    std::shared_ptr<Transport> client, PeerAddress server, Bytes alpn, Bytes data,
    std::size_t chunk, std::shared_ptr<std::atomic<std::size_t>> progress = nullptr) {
  auto opened = co_await open_stream(client, server, alpn);
  if (!opened) co_return Unexpected{std::move(opened).error()};
  ConnectionHandle connection = opened->first;
  StreamHandle stream = opened->second;
  std::size_t step = chunk == 0 ? data.size() : chunk;
  for (std::size_t at = 0; at < data.size(); at += step) {
    std::size_t n = std::min(step, data.size() - at);
    auto written = co_await stream->write(ByteSpan(data).subspan(at, n));
    if (!written) co_return written;
    if (progress) progress->store(at + n);
  }
  auto finished = co_await stream->finish();
  if (!finished) co_return finished;
  auto ack = co_await read_frame(*stream, 16);
  connection->close(0, "done");
  if (!ack) co_return Unexpected{std::move(ack).error()};
  co_return Result<void>{};
}

}  // namespace p2panda::net::test
