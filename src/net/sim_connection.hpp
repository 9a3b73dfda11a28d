// SimConnection: one end of a simulated connection (see sim_hub.hpp). It receives packets from its
// SimWire on a timer, routes them to its streams and implements TransportConnection.
//
// Threading: created on any thread by SimHub, then used only on its node's executor (REQUIRES;
// awaitables check and fail with InvalidArgument).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>

#include "net/config.hpp"
#include "net/notifier.hpp"
#include "net/sim_wire.hpp"
#include "net/transport.hpp"

namespace p2panda::net {

class SimHub;
struct SimStreamState;

class SimConnection final : public TransportConnection,
                            public std::enable_shared_from_this<SimConnection> {
 public:
  SimConnection(std::shared_ptr<SimHub> hub, std::shared_ptr<SimWire> wire, int side,
                PublicKey remote, Bytes alpn, asio::any_io_executor executor);

  const PublicKey& remote_id() const override { return remote_; }
  const Bytes& alpn() const override { return alpn_; }
  Awaitable<Result<StreamHandle>> open_bi() override;
  Awaitable<Result<StreamHandle>> accept_bi() override;
  Awaitable<Result<StreamHandle>> open_uni() override;
  Awaitable<Result<StreamHandle>> accept_uni() override;
  void close(std::uint64_t code, std::string_view reason) override;
  Awaitable<Result<void>> closed() override;

  // --- For SimHub and SimStream; executor only. ---

  // Delivers the packets that are due and waits for the next one.
  void pump();
  // Ends the connection with `info` after `delay` (a partition or a vanished peer).
  void end_after(std::chrono::milliseconds delay, CloseInfo info);
  const asio::any_io_executor& executor() const { return executor_; }
  bool alive() const { return !close_info_; }
  Error error() const;  // REQUIRES: !alive()
  Notifier& events() { return events_; }
  // Sends a packet for one of our streams; dropped once the connection is gone.
  void send(SimFrame frame);
  // The application read `n` bytes of `stream`: grant more credit when enough was read.
  void consumed(SimStreamState& stream, std::size_t n);
  // Forgets a stream that neither side will use again.
  void forget_if_done(const SimStreamState& stream);

 private:
  void apply(SimFrame frame);
  std::shared_ptr<SimStreamState> stream_for(std::uint64_t id);
  std::shared_ptr<SimStreamState> new_stream(std::uint64_t id);
  Awaitable<Result<StreamHandle>> open(bool uni);
  Awaitable<Result<StreamHandle>> accept(bool uni);
  void end_with(CloseInfo info);

  std::shared_ptr<SimHub> hub_;
  std::shared_ptr<SimWire> wire_;
  const int side_;
  const PublicKey remote_;
  const Bytes alpn_;
  const std::uint64_t window_;
  asio::any_io_executor executor_;
  asio::steady_timer delivery_timer_;
  std::optional<std::chrono::steady_clock::time_point> armed_for_;
  asio::steady_timer end_timer_;
  Notifier events_;
  std::optional<CloseInfo> close_info_;
  std::map<std::uint64_t, std::shared_ptr<SimStreamState>> streams_;
  // Index 0: bidirectional streams, 1: unidirectional ones (counted apart, as in QUIC).
  std::deque<std::shared_ptr<SimStreamState>> incoming_[2];
  std::uint64_t opened_[2] = {0, 0};       // streams we opened
  std::uint64_t peer_opened_[2] = {0, 0};  // streams the peer opened that we have seen
};

}  // namespace p2panda::net
