#include "net/quic_transport.hpp"

namespace p2panda::net {
namespace {

class QuicStream final : public TransportStream {
 public:
  QuicStream(Stream stream, asio::any_io_executor executor)
      : stream_(std::move(stream)), executor_(std::move(executor)) {}

  Awaitable<Result<std::size_t>> read_some(std::span<std::uint8_t> buffer) override {
    if (aborted_) co_return fail(Errc::Io, "stream aborted locally");
    auto got = co_await stream_.read_some(buffer);
    co_return got;
  }

  Awaitable<Result<void>> write(ByteSpan data) override {
    if (aborted_) co_return fail(Errc::Io, "stream aborted locally");
    auto written = co_await stream_.write(data);
    co_return written;
  }

  Awaitable<Result<void>> finish() override {
    if (aborted_) co_return fail(Errc::Io, "stream aborted locally");
    auto finished = co_await stream_.finish();
    co_return finished;
  }

  void abort(std::uint64_t code) override {
    if (aborted_) return;
    aborted_ = true;
    asio::co_spawn(executor_, reset_and_stop(stream_, code), asio::detached);
  }

 private:
  // RESET_STREAM and STOP_SENDING with `code`: the peer's reads and writes fail with
  // StreamReset. A free coroutine with by-value parameters: it outlives this object.
  static Awaitable<void> reset_and_stop(Stream stream, std::uint64_t code) {
    auto reset = co_await stream.reset(code);
    auto stopped = co_await stream.stop(code);
    (void)reset;  // already reset, or the connection is gone: nothing left to abort
    (void)stopped;
  }

  Stream stream_;
  asio::any_io_executor executor_;
  bool aborted_ = false;
};

class QuicConnection final : public TransportConnection {
 public:
  QuicConnection(Connection connection, asio::any_io_executor executor)
      : connection_(std::move(connection)), executor_(std::move(executor)) {}

  const PublicKey& remote_id() const override { return connection_.remote_id(); }
  const Bytes& alpn() const override { return connection_.alpn(); }

  Awaitable<Result<StreamHandle>> open_bi() override {
    auto opened = co_await connection_.open_bi();
    if (!opened) co_return Unexpected{std::move(opened).error()};
    co_return StreamHandle(std::make_shared<QuicStream>(std::move(*opened), executor_));
  }

  Awaitable<Result<StreamHandle>> accept_bi() override {
    auto accepted = co_await connection_.accept_bi();
    if (!accepted) co_return Unexpected{std::move(accepted).error()};
    co_return StreamHandle(std::make_shared<QuicStream>(std::move(*accepted), executor_));
  }

  Awaitable<Result<StreamHandle>> open_uni() override {
    auto opened = co_await connection_.open_uni();
    if (!opened) co_return Unexpected{std::move(opened).error()};
    co_return StreamHandle(std::make_shared<QuicStream>(std::move(*opened), executor_));
  }

  Awaitable<Result<StreamHandle>> accept_uni() override {
    auto accepted = co_await connection_.accept_uni();
    if (!accepted) co_return Unexpected{std::move(accepted).error()};
    co_return StreamHandle(std::make_shared<QuicStream>(std::move(*accepted), executor_));
  }

  void close(std::uint64_t code, std::string_view reason) override {
    connection_.close(code, reason);
  }

  Awaitable<Result<void>> closed() override {
    CloseInfo info = co_await connection_.closed();
    co_return close_result(info);
  }

 private:
  Connection connection_;
  asio::any_io_executor executor_;
};

}  // namespace

Result<std::shared_ptr<QuicTransport>> QuicTransport::bind(EndpointConfig config) {
  auto endpoint = Endpoint::bind(std::move(config));
  if (!endpoint) return Unexpected{std::move(endpoint).error()};
  return std::make_shared<QuicTransport>(std::move(*endpoint));
}

QuicTransport::QuicTransport(Endpoint endpoint) : endpoint_(std::move(endpoint)) {}

std::vector<SocketAddress> QuicTransport::local_addresses() const {
  std::vector<SocketAddress> addresses{endpoint_.local_address()};
  if (auto v6 = endpoint_.local_address_v6()) addresses.push_back(*v6);
  return addresses;
}

void QuicTransport::register_protocol(ByteSpan alpn, TransportHandler handler) {
  endpoint_.register_protocol(
      alpn, [handler = std::move(handler), executor = executor()](Connection connection) {
        return handler(std::make_shared<QuicConnection>(std::move(connection), executor));
      });
}

Awaitable<Result<ConnectionHandle>> QuicTransport::connect(PeerAddress peer, Bytes alpn) {
  if (peer.addresses.empty()) {
    co_return fail(Errc::InvalidArgument, "no address to dial for node " + peer.node_id.to_hex());
  }
  auto connected = co_await endpoint_.connect_any(std::move(peer.addresses), peer.node_id, alpn);
  if (!connected) co_return Unexpected{std::move(connected).error()};
  co_return ConnectionHandle(std::make_shared<QuicConnection>(std::move(*connected), executor()));
}

}  // namespace p2panda::net
