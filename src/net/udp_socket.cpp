#include "net/udp_socket.hpp"

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "net/udp_batch.hpp"

namespace p2panda::net {
namespace {

constexpr int kSocketBuffer = 4 << 20;

// The GRO segment size the kernel attached to a received message; 0 when it did not coalesce.
std::size_t gro_segment_size(const msghdr& message) {
  for (auto* c = CMSG_FIRSTHDR(&message); c != nullptr;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&message), c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int size = 0;
      std::memcpy(&size, CMSG_DATA(c), sizeof size);
      return size > 0 ? static_cast<std::size_t>(size) : 0;
    }
  }
  return 0;
}

}  // namespace

Result<std::unique_ptr<UdpSocket>> UdpSocket::open(asio::io_context& io, const SocketAddress& bind,
                                                   const UdpOptions& options) {
  std::unique_ptr<UdpSocket> socket(new UdpSocket(io));
  std::error_code ec;
  socket->socket_.open(bind.protocol(), ec);
  if (bind.address().is_v6() && !ec) socket->socket_.set_option(asio::ip::v6_only(true), ec);
  if (!ec) socket->socket_.bind(bind, ec);
  if (!ec) socket->socket_.non_blocking(true, ec);
  if (ec) {
    return fail(Errc::Io, "bind UDP " + bind.address().to_string() + ":" +
                              std::to_string(bind.port()) + ": " + ec.message());
  }
  // Larger buffers absorb bursts; the kernel caps them at net.core.[rw]mem_max, which is fine.
  std::error_code ignored;
  socket->socket_.set_option(asio::socket_base::receive_buffer_size(kSocketBuffer), ignored);
  socket->socket_.set_option(asio::socket_base::send_buffer_size(kSocketBuffer), ignored);
  socket->local_ = socket->socket_.local_endpoint(ec);
  if (ec) return fail(Errc::Io, "local_endpoint: " + ec.message());
  // GSO needs no set-up: it is asked for per sendmsg, and a refusal turns it off then.
  socket->gso_ = options.gso;
  // ICMP errors for datagrams we sent: without this Linux drops them for unconnected sockets.
  const int recverr = 1;
  if (bind.address().is_v6()) {
    setsockopt(socket->socket_.native_handle(), IPPROTO_IPV6, IPV6_RECVERR, &recverr,
               sizeof recverr);
  } else {
    setsockopt(socket->socket_.native_handle(), IPPROTO_IP, IP_RECVERR, &recverr, sizeof recverr);
  }
  if (options.gro) {
    int on = 1;
    socket->gro_ =
        setsockopt(socket->socket_.native_handle(), SOL_UDP, UDP_GRO, &on, sizeof on) == 0;
  }
  socket->recv_storage_.reset(new std::uint8_t[kRecvSlots * kSlotSize]);
  socket->send_storage_.reset(new std::uint8_t[kSendStorage]);
  return socket;
}

UdpSocket::~UdpSocket() = default;

void UdpSocket::start(DatagramHandler on_datagram, std::function<void()> on_batch_end,
                      UnreachableHandler on_unreachable) {
  on_datagram_ = std::move(on_datagram);
  on_batch_end_ = std::move(on_batch_end);
  on_unreachable_ = std::move(on_unreachable);
  wait();
}

void UdpSocket::wait() {
  socket_.async_wait(asio::ip::udp::socket::wait_read, [this](std::error_code ec) {
    if (ec) return;  // closed
    drain();
    if (socket_.is_open()) wait();
  });
}

// One recvmmsg per readiness event: whatever is left wakes the next wait at once (asio re-arms
// the descriptor), and flushing in between keeps acknowledgements flowing.
void UdpSocket::drain() {
  mmsghdr messages[kRecvSlots];
  iovec vectors[kRecvSlots];
  sockaddr_storage names[kRecvSlots];
  alignas(cmsghdr) std::uint8_t controls[kRecvSlots][CMSG_SPACE(sizeof(int))];
  for (std::size_t i = 0; i < kRecvSlots; ++i) {
    vectors[i] = {recv_storage_.get() + i * kSlotSize, kSlotSize};
    messages[i].msg_hdr = msghdr{};
    messages[i].msg_hdr.msg_name = &names[i];
    messages[i].msg_hdr.msg_namelen = sizeof names[i];
    messages[i].msg_hdr.msg_iov = &vectors[i];
    messages[i].msg_hdr.msg_iovlen = 1;
    messages[i].msg_hdr.msg_control = controls[i];
    messages[i].msg_hdr.msg_controllen = sizeof controls[i];
  }
  // An error (would block, or an ICMP error surfaced by the kernel) means nothing to read now;
  // what is queued still wakes the next wait.
  drain_errors();
  const int received =
      recvmmsg(socket_.native_handle(), messages, kRecvSlots, MSG_DONTWAIT, nullptr);
  if (received > 0) ++stats_.receive_calls;
  SocketAddress from;
  for (int i = 0; i < received && socket_.is_open(); ++i) {
    const msghdr& header = messages[i].msg_hdr;
    if ((header.msg_flags & MSG_TRUNC) != 0) continue;  // larger than any QUIC packet we accept
    if (header.msg_namelen > from.capacity()) continue;
    std::memcpy(from.data(), header.msg_name, header.msg_namelen);
    from.resize(header.msg_namelen);
    ByteSpan data(static_cast<const std::uint8_t*>(vectors[i].iov_base), messages[i].msg_len);
    const std::size_t segment = gro_segment_size(header);
    if (segment != 0 && segment < data.size()) ++stats_.coalesced_receives;
    for_each_segment(data, segment, [&](ByteSpan datagram) {
      ++stats_.datagrams_received;
      if (socket_.is_open()) on_datagram_(*this, from, datagram);
    });
  }
  on_batch_end_();
}

// Reads the error queue empty (a queued error keeps the descriptor signalled, so it must be read
// even when nobody listens) and reports ports found unreachable.
void UdpSocket::drain_errors() {
  for (;;) {
    std::uint8_t payload[64];  // the start of the datagram that drew the error; unused
    iovec vector{payload, sizeof payload};
    sockaddr_storage name{};
    alignas(cmsghdr) std::uint8_t control[512];
    msghdr message{};
    message.msg_name = &name;
    message.msg_namelen = sizeof name;
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    if (recvmsg(socket_.native_handle(), &message, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return;
    for (auto* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
      const bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
      const bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
      if (!v4 && !v6) continue;
      sock_extended_err error;
      std::memcpy(&error, CMSG_DATA(c), sizeof error);
      // Port unreachable: ICMP type 3 code 3, ICMPv6 type 1 code 4.
      const bool port = v4 ? error.ee_origin == SO_EE_ORIGIN_ICMP && error.ee_type == 3 &&
                                 error.ee_code == 3
                           : error.ee_origin == SO_EE_ORIGIN_ICMP6 && error.ee_type == 1 &&
                                 error.ee_code == 4;
      if (!port || message.msg_namelen == 0) continue;
      ++stats_.unreachable_reports;
      SocketAddress to;
      if (message.msg_namelen > to.capacity()) continue;
      std::memcpy(to.data(), &name, message.msg_namelen);
      to.resize(message.msg_namelen);
      if (on_unreachable_) {
        on_unreachable_(to, "port unreachable (ICMP) at " + to.address().to_string() + ":" +
                                std::to_string(to.port()));
      }
    }
  }
}

void UdpSocket::send(const SocketAddress& to, ByteSpan datagrams, std::size_t segment_size) {
  if (datagrams.empty()) return;
  if (segment_size == 0) segment_size = datagrams.size();
  if (segment_size < datagrams.size() && gso_ && send_gso(to, datagrams, segment_size)) return;
  for_each_segment(datagrams, segment_size, [&](ByteSpan datagram) { send_one(to, datagram); });
}

// False when the kernel refused GSO; the caller then sends the datagrams one by one.
bool UdpSocket::send_gso(const SocketAddress& to, ByteSpan datagrams, std::size_t segment_size) {
  iovec vector{const_cast<std::uint8_t*>(datagrams.data()), datagrams.size()};
  alignas(cmsghdr) std::uint8_t control[CMSG_SPACE(sizeof(std::uint16_t))] = {};
  msghdr message{};
  message.msg_name = const_cast<void*>(static_cast<const void*>(to.data()));
  message.msg_namelen = static_cast<socklen_t>(to.size());
  message.msg_iov = &vector;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&message);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
  const auto size = static_cast<std::uint16_t>(segment_size);
  std::memcpy(CMSG_DATA(c), &size, sizeof size);
  const std::size_t count = (datagrams.size() + segment_size - 1) / segment_size;
  if (sendmsg(socket_.native_handle(), &message, 0) >= 0) {
    ++stats_.send_calls;
    ++stats_.gso_sends;
    stats_.datagrams_sent += count;
    stats_.bytes_sent += datagrams.size();
    return true;
  }
  // EIO: the route's device cannot checksum segments; EINVAL: no GSO in this kernel (or on this
  // socket type). Either will not change, so stop asking.
  if (errno == EIO || errno == EINVAL) {
    gso_ = false;
    ++stats_.gso_refusals;
    return false;
  }
  stats_.dropped_sends += count;  // socket buffer full: QUIC recovers
  return true;
}

void UdpSocket::send_one(const SocketAddress& to, ByteSpan datagram) {
  const auto sent = ::sendto(socket_.native_handle(), datagram.data(), datagram.size(), 0,
                             to.data(), static_cast<socklen_t>(to.size()));
  if (sent < 0) {
    ++stats_.dropped_sends;
    return;
  }
  ++stats_.send_calls;
  ++stats_.datagrams_sent;
  stats_.bytes_sent += datagram.size();
}

void UdpSocket::close() {
  std::error_code ignored;
  socket_.close(ignored);
}

}  // namespace p2panda::net
