#include "net/udp_socket.hpp"

namespace p2panda::net {
namespace {
constexpr int kBatch = 64;
constexpr int kSocketBuffer = 4 << 20;
}  // namespace

Result<std::unique_ptr<UdpSocket>> UdpSocket::open(asio::io_context& io,
                                                   const SocketAddress& bind) {
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
  return socket;
}

void UdpSocket::start(DatagramHandler on_datagram, std::function<void()> on_batch_end) {
  on_datagram_ = std::move(on_datagram);
  on_batch_end_ = std::move(on_batch_end);
  wait();
}

void UdpSocket::wait() {
  socket_.async_wait(asio::ip::udp::socket::wait_read, [this](std::error_code ec) {
    if (ec) return;  // closed
    drain();
    if (socket_.is_open()) wait();
  });
}

void UdpSocket::drain() {
  SocketAddress from;
  for (int i = 0; i < kBatch && socket_.is_open(); ++i) {
    std::error_code ec;
    std::size_t n = socket_.receive_from(asio::buffer(buffer_), from, 0, ec);
    if (ec) break;  // would_block, or an ICMP error surfaced by the kernel: nothing to read now
    on_datagram_(*this, from, ByteSpan(buffer_.data(), n));
  }
  on_batch_end_();
}

void UdpSocket::send(const SocketAddress& to, ByteSpan datagram) {
  std::error_code ec;
  socket_.send_to(asio::buffer(datagram.data(), datagram.size()), to, 0, ec);
  if (ec) {
    ++dropped_sends_;
    return;
  }
  ++packets_sent_;
  bytes_sent_ += datagram.size();
}

void UdpSocket::close() {
  std::error_code ignored;
  socket_.close(ignored);
}

}  // namespace p2panda::net
