#include "net/sim_transport.hpp"

#include "net/sim_connection.hpp"

namespace p2panda::net {

SimTransport::SimTransport(std::shared_ptr<SimHub> hub, std::uint32_t index, PublicKey node_id,
                           asio::any_io_executor executor)
    : hub_(std::move(hub)), index_(index), node_id_(node_id), executor_(std::move(executor)) {}

SimTransport::~SimTransport() { hub_->remove(index_); }

void SimTransport::register_protocol(ByteSpan alpn, TransportHandler handler) {
  hub_->register_protocol(index_, alpn, std::move(handler));
}

Awaitable<Result<ConnectionHandle>> SimTransport::connect(PeerAddress peer, Bytes alpn) {
  if (!runs_here(executor_)) {
    co_return fail(Errc::InvalidArgument, "must run on the simulated node's executor");
  }
  if (alpn.empty()) co_return fail(Errc::InvalidArgument, "empty ALPN");
  auto opened = hub_->open(index_, peer.node_id, alpn);
  if (!opened) co_return Unexpected{std::move(opened).error()};
  // The handshake's round trip; the acceptor's handler may already be running meanwhile.
  asio::steady_timer handshake(executor_, opened->handshake);
  auto waited = co_await handshake.async_wait(use_tuple);
  (void)waited;
  co_return ConnectionHandle(std::move(opened->connection));
}

SimNodeStats SimTransport::stats() const { return hub_->stats(index_); }

}  // namespace p2panda::net
