// UdpSocket: one bound, non-blocking UDP socket of an endpoint.
//
// Receiving drains up to a batch of datagrams per readiness event, then calls on_batch_end so the
// endpoint can flush each touched connection once (acks and stream data go out together). Sends
// never block: a full socket buffer drops the datagram and QUIC's loss recovery resends it.
// Endpoint thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <p2panda/encoding.hpp>
#include <p2panda/result.hpp>

#include "net/asio.hpp"

namespace p2panda::net {

class UdpSocket {
 public:
  using DatagramHandler = std::function<void(UdpSocket&, const SocketAddress&, ByteSpan)>;

  // Errors: Io when the address cannot be bound.
  static Result<std::unique_ptr<UdpSocket>> open(asio::io_context& io, const SocketAddress& bind);

  const SocketAddress& local() const { return local_; }
  void start(DatagramHandler on_datagram, std::function<void()> on_batch_end);
  void send(const SocketAddress& to, ByteSpan datagram);
  void close();
  std::uint64_t dropped_sends() const { return dropped_sends_; }
  // Datagrams (and their bytes) the kernel accepted for sending.
  std::uint64_t packets_sent() const { return packets_sent_; }
  std::uint64_t bytes_sent() const { return bytes_sent_; }

 private:
  explicit UdpSocket(asio::io_context& io) : socket_(io) {}
  void wait();
  void drain();

  asio::ip::udp::socket socket_;
  SocketAddress local_;
  Bytes buffer_ = Bytes(65536);
  DatagramHandler on_datagram_;
  std::function<void()> on_batch_end_;
  std::uint64_t dropped_sends_ = 0;
  std::uint64_t packets_sent_ = 0;
  std::uint64_t bytes_sent_ = 0;
};

}  // namespace p2panda::net
