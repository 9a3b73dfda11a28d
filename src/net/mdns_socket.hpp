// MdnsSocket: the UDP socket mDNS discovery sends and receives on (IPv4, group 224.0.0.251).
//
// It joins the group only on the named interfaces and multicasts only through them: bound to
// the group address (so no unicast reaches it), IP_MULTICAST_ALL off (so groups joined by other
// sockets of the host do not leak in), IP_MULTICAST_IF set to each interface in turn when
// sending, TTL 255 as RFC 6762 wants, loopback on so that several nodes of one host hear each
// other. SO_REUSEADDR and SO_REUSEPORT let several sockets share the port (5353 by default; tests
// use another port so that a system mDNS daemon is never involved). Executor thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <p2panda/encoding.hpp>
#include <p2panda/result.hpp>
#include <string>
#include <vector>

#include "net/asio.hpp"

namespace p2panda::net {

struct MdnsSocketConfig {
  std::vector<std::string> interfaces{"lo"};  // never empty: the caller decides the default
  std::uint16_t port = 5353;
};

class MdnsSocket {
 public:
  using Handler = std::function<void(ByteSpan datagram)>;

  // Errors: InvalidArgument (no interface, or an unknown interface name), Io (socket options,
  // bind, group membership).
  static Result<std::unique_ptr<MdnsSocket>> open(asio::any_io_executor executor,
                                                  const MdnsSocketConfig& config);
  ~MdnsSocket();

  // Starts receiving; `on_datagram` runs on the executor for every datagram (our own included:
  // multicast loops back).
  void start(Handler on_datagram);
  // Multicasts `datagram` on every configured interface. Never blocks; failures are counted.
  void send(ByteSpan datagram);
  // Looks the interfaces up by name again and joins the group on those that were created anew
  // (a new index: a USB adapter plugged in again, a VPN reconnecting, a driver reloaded): the
  // kernel dropped the membership with the old interface. One that is gone is joined when it
  // comes back. Returns whether it joined any.
  bool refresh();
  void close();

  std::uint64_t bytes_sent() const { return bytes_sent_; }
  std::uint64_t bytes_received() const { return bytes_received_; }
  std::uint64_t send_failures() const { return send_failures_; }

 private:
  explicit MdnsSocket(asio::any_io_executor executor) : socket_(executor) {}
  void receive();

  asio::ip::udp::socket socket_;
  std::vector<std::string> names_;
  std::vector<int> interfaces_;  // ifindex per name; 0 while the interface is missing
  std::uint16_t port_ = 0;
  Handler on_datagram_;
  std::vector<std::uint8_t> buffer_ = std::vector<std::uint8_t>(9000);
  asio::ip::udp::endpoint sender_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::uint64_t bytes_sent_ = 0, bytes_received_ = 0, send_failures_ = 0;
};

}  // namespace p2panda::net
