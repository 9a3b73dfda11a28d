// SimTransport: one node's net::Transport on a SimHub (sim_hub.hpp), the in-memory network for
// whole-node tests. Made by SimHub::add(); destroying it takes the node off the network (its
// connections end, peers notice after the hub's detect delay).
//
// Threading: node_id(), executor(), local_addresses(), register_protocol() and stats() from any
// thread; connect() and everything on its connections and streams REQUIRE running on executor().
#pragma once

#include <memory>

#include "net/sim_hub.hpp"
#include "net/transport.hpp"

namespace p2panda::net {

class SimTransport final : public Transport {
 public:
  // Use SimHub::add().
  SimTransport(std::shared_ptr<SimHub> hub, std::uint32_t index, PublicKey node_id,
               asio::any_io_executor executor);
  ~SimTransport() override;
  SimTransport(const SimTransport&) = delete;
  SimTransport& operator=(const SimTransport&) = delete;

  const PublicKey& node_id() const override { return node_id_; }
  asio::any_io_executor executor() const override { return executor_; }
  // Always empty: simulated peers are reached by node id alone.
  std::vector<SocketAddress> local_addresses() const override { return {}; }
  void register_protocol(ByteSpan alpn, TransportHandler handler) override;
  // Only peer.node_id is used. Errors: InvalidArgument (empty ALPN, wrong thread); Io when the
  // node is unknown, gone or partitioned away; HandshakeRejected when it does not serve `alpn`.
  // Succeeds after one simulated round trip.
  Awaitable<Result<ConnectionHandle>> connect(PeerAddress peer, Bytes alpn) override;

  SimNodeStats stats() const;
  const std::shared_ptr<SimHub>& hub() const { return hub_; }

 private:
  std::shared_ptr<SimHub> hub_;
  const std::uint32_t index_;
  const PublicKey node_id_;
  asio::any_io_executor executor_;
};

}  // namespace p2panda::net
