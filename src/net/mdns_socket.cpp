#include "net/mdns_socket.hpp"

#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace p2panda::net {
namespace {

const asio::ip::address_v4 kGroup = asio::ip::make_address_v4("224.0.0.251");

Result<void> option(int fd, int level, int name, const void* value, socklen_t size,
                    const char* what) {
  if (::setsockopt(fd, level, name, value, size) != 0) {
    return fail(Errc::Io, std::string("mdns: ") + what + ": " + std::strerror(errno));
  }
  return {};
}

ip_mreqn membership(int ifindex) {
  ip_mreqn request{};
  request.imr_multiaddr.s_addr = htonl(kGroup.to_uint());
  request.imr_address.s_addr = htonl(INADDR_ANY);
  request.imr_ifindex = ifindex;
  return request;
}

}  // namespace

Result<std::unique_ptr<MdnsSocket>> MdnsSocket::open(asio::any_io_executor executor,
                                                     const MdnsSocketConfig& config) {
  if (config.interfaces.empty()) return fail(Errc::InvalidArgument, "mdns: no interface given");
  std::unique_ptr<MdnsSocket> self(new MdnsSocket(std::move(executor)));
  for (const auto& name : config.interfaces) {
    const unsigned index = ::if_nametoindex(name.c_str());
    if (index == 0) return fail(Errc::InvalidArgument, "mdns: no interface named \"" + name + "\"");
    self->interfaces_.push_back(static_cast<int>(index));
  }
  self->names_ = config.interfaces;
  self->port_ = config.port;
  asio::error_code error;
  self->socket_.open(asio::ip::udp::v4(), error);
  if (error) return fail(Errc::Io, "mdns: socket: " + error.message());
  const int fd = self->socket_.native_handle();
  const int one = 1, zero = 0, ttl = 255;
  struct Option {
    int level, name;
    const int* value;
    const char* what;
  };
  const Option options[] = {{SOL_SOCKET, SO_REUSEADDR, &one, "SO_REUSEADDR"},
                            {SOL_SOCKET, SO_REUSEPORT, &one, "SO_REUSEPORT"},
                            {IPPROTO_IP, IP_MULTICAST_ALL, &zero, "IP_MULTICAST_ALL"},
                            {IPPROTO_IP, IP_MULTICAST_LOOP, &one, "IP_MULTICAST_LOOP"},
                            {IPPROTO_IP, IP_MULTICAST_TTL, &ttl, "IP_MULTICAST_TTL"}};
  for (const auto& each : options) {
    auto set = option(fd, each.level, each.name, each.value, sizeof(int), each.what);
    if (!set) return Unexpected{set.error()};
  }
  self->socket_.bind(asio::ip::udp::endpoint(kGroup, config.port), error);
  if (error) return fail(Errc::Io, "mdns: bind: " + error.message());
  for (int index : self->interfaces_) {
    const auto request = membership(index);
    auto joined =
        option(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &request, sizeof(request), "IP_ADD_MEMBERSHIP");
    if (!joined) return Unexpected{joined.error()};
  }
  return self;
}

MdnsSocket::~MdnsSocket() { close(); }

bool MdnsSocket::refresh() {
  if (!socket_.is_open()) return false;
  const int fd = socket_.native_handle();
  bool joined = false;
  for (std::size_t i = 0; i < names_.size(); ++i) {
    const int now = static_cast<int>(::if_nametoindex(names_[i].c_str()));
    if (now == interfaces_[i]) continue;
    if (interfaces_[i] != 0) {
      // Required: the kernel keeps the socket's record of the old membership until it is
      // dropped, and a socket may hold only 20 (igmp_max_memberships); adds fail after that.
      const auto old = membership(interfaces_[i]);
      (void)::setsockopt(fd, IPPROTO_IP, IP_DROP_MEMBERSHIP, &old, sizeof(old));
    }
    interfaces_[i] = 0;
    if (now == 0) continue;
    const auto request = membership(now);
    if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &request, sizeof(request)) != 0) {
      continue;  // tried again on the next change
    }
    interfaces_[i] = now;
    joined = true;
  }
  return joined;
}

void MdnsSocket::start(Handler on_datagram) {
  on_datagram_ = std::move(on_datagram);
  receive();
}

void MdnsSocket::receive() {
  socket_.async_receive_from(
      asio::buffer(buffer_), sender_,
      [this, alive = std::weak_ptr<bool>(alive_)](asio::error_code error, std::size_t size) {
        if (alive.expired() || error == asio::error::operation_aborted) return;
        if (!error) {
          bytes_received_ += size;
          on_datagram_(ByteSpan(buffer_.data(), size));
          if (alive.expired()) return;  // the handler closed us
        }
        if (socket_.is_open()) receive();
      });
}

void MdnsSocket::send(ByteSpan datagram) {
  if (!socket_.is_open()) return;
  const asio::ip::udp::endpoint group(kGroup, port_);
  for (int index : interfaces_) {
    if (index == 0) continue;  // missing until refresh() finds it again
    // Chosen per datagram, so nothing ever leaves through an interface nobody named.
    const auto request = membership(index);
    asio::error_code error;
    if (option(socket_.native_handle(), IPPROTO_IP, IP_MULTICAST_IF, &request, sizeof(request),
               "IP_MULTICAST_IF")) {
      socket_.send_to(asio::buffer(datagram.data(), datagram.size()), group, 0, error);
    } else {
      error = asio::error::invalid_argument;
    }
    if (error) {
      ++send_failures_;
    } else {
      bytes_sent_ += datagram.size();
    }
  }
}

void MdnsSocket::close() {
  alive_ = std::make_shared<bool>(true);  // pending handlers see theirs expired
  asio::error_code ignored;
  socket_.close(ignored);
}

}  // namespace p2panda::net
