// UdpSocket: one bound, non-blocking UDP socket of an endpoint (Linux).
//
// Receiving: each readiness event drains up to kRecvSlots datagrams with one recvmmsg; with
// UDP_GRO the kernel may coalesce a peer's GSO burst into one buffer, which is split back into
// datagrams here. After the batch on_batch_end lets the endpoint flush each touched connection
// once (acks and stream data go out together).
// Sending: send() takes a run of equal-sized datagrams for one peer (a SendBatch) and hands it to
// the kernel as one sendmsg with UDP_SEGMENT (GSO). When the kernel refuses GSO (EIO or EINVAL)
// the socket remembers that and sends one datagram per sendmsg from then on. Sends never block:
// a full socket buffer drops the datagrams and QUIC's loss recovery resends them.
// Unreachable ports: the socket asks the kernel for ICMP errors (IP_RECVERR, IPV6_RECVERR), so
// that a host answering "port unreachable" to one of our datagrams is reported (on_unreachable)
// instead of going unheard until a handshake times out. Other ICMP errors (host unreachable,
// often transient; packet too big, which QUIC's path MTU handling covers) are read and ignored.
// Endpoint thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include <p2panda/encoding.hpp>
#include <p2panda/result.hpp>

#include "net/asio.hpp"
#include "net/config.hpp"

namespace p2panda::net {

class UdpSocket {
 public:
  using DatagramHandler = std::function<void(UdpSocket&, const SocketAddress&, ByteSpan)>;
  // `to`: where the datagram that drew the ICMP error went; `what`: the error, for messages.
  using UnreachableHandler = std::function<void(const SocketAddress& to, const std::string& what)>;

  static constexpr std::size_t kRecvSlots = 32;

  // Errors: Io when the address cannot be bound.
  static Result<std::unique_ptr<UdpSocket>> open(asio::io_context& io, const SocketAddress& bind,
                                                 const UdpOptions& options = {});
  ~UdpSocket();

  const SocketAddress& local() const { return local_; }
  void start(DatagramHandler on_datagram, std::function<void()> on_batch_end,
             UnreachableHandler on_unreachable = {});
  // Sends `datagrams`: consecutive datagrams of `segment_size` bytes, the last possibly shorter
  // (segment_size >= datagrams.size(): one datagram).
  void send(const SocketAddress& to, ByteSpan datagrams, std::size_t segment_size);
  void send(const SocketAddress& to, ByteSpan datagram) { send(to, datagram, datagram.size()); }
  void close();

  // Scratch space for building a SendBatch: valid until the next call of send_storage().
  std::span<std::uint8_t> send_storage() { return {send_storage_.get(), kSendStorage}; }
  bool gso_active() const { return gso_; }
  bool gro_active() const { return gro_; }
  const UdpStats& stats() const { return stats_; }
  // The descriptor, for socket options the class does not cover (tests use it to make the kernel
  // refuse GSO). Owned by this object.
  int native_handle() { return socket_.native_handle(); }

 private:
  static constexpr std::size_t kSendStorage = 65536 + 2048;
  static constexpr std::size_t kSlotSize = 65536;  // a coalesced GRO receive fits

  explicit UdpSocket(asio::io_context& io) : socket_(io) {}
  void wait();
  void drain();
  void drain_errors();
  bool send_gso(const SocketAddress& to, ByteSpan datagrams, std::size_t segment_size);
  void send_one(const SocketAddress& to, ByteSpan datagram);

  asio::ip::udp::socket socket_;
  SocketAddress local_;
  bool gso_ = false;
  bool gro_ = false;
  std::unique_ptr<std::uint8_t[]> recv_storage_;  // kRecvSlots * kSlotSize, touched on use
  std::unique_ptr<std::uint8_t[]> send_storage_;
  DatagramHandler on_datagram_;
  std::function<void()> on_batch_end_;
  UnreachableHandler on_unreachable_;
  UdpStats stats_;
};

}  // namespace p2panda::net
