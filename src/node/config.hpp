// NodeConfig: everything NodeBuilder sets, plus the advanced knobs tests and embedders use (the
// transport factory that puts a node on the simulated network, session limits). Plain value.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <p2panda/node.hpp>

#include "gossip/framing.hpp"
#include "net/config.hpp"
#include "net/transport.hpp"
#include "sync/log_sync.hpp"

namespace p2panda {

// Makes the node's transport, running on `executor` (a thread the node starts for it). Unset:
// the QUIC endpoint on bind_v4/bind_v6, which runs its own thread.
using TransportFactory = std::function<Result<std::shared_ptr<net::Transport>>(
    const PrivateKey& key, asio::any_io_executor executor)>;

struct NodeConfig {
  PrivateKey key = PrivateKey::generate();
  std::string database_url = ":memory:";
  NetworkId network_id = NetworkId::default_id();
  net::SocketAddress bind_v4{asio::ip::address_v4::loopback(), 0};
  std::optional<net::SocketAddress> bind_v6;
  AckPolicy ack_policy = AckPolicy::Automatic;
  std::vector<net::PeerAddress> bootstrap;
  MdnsMode mdns = MdnsMode::Active;
  // Interfaces mDNS joins and multicasts on; empty: loopback only (docs/discovery.md).
  std::vector<std::string> mdns_interfaces;
  std::uint16_t mdns_port = 5353;  // tests pick another so that no system responder is involved
  std::optional<std::string> relay_url;
  std::chrono::milliseconds sync_retry{5'000};
  // Gossip's stream layout (docs/gossip.md, "Driver"): V101 is p2panda 0.7's (ALPN
  // BLAKE3("/iroh-gossip/1" || network id), uni streams); V035 talks to iroh-gossip 0.35 nodes
  // (plain ALPN "/iroh-gossip/0", one shared bi stream). The two never reach each other.
  gossip::Mode gossip_mode = gossip::Mode::V101;

  // QUIC keep-alive every 5 s, as p2panda's endpoint: gossip and live sync connections are often
  // quiet for longer than the idle timeout, and would otherwise close and reopen (neighbours
  // going down and up) every 30 s of silence.
  net::TransportConfig transport = [] {
    net::TransportConfig config;
    config.keep_alive = std::chrono::seconds(5);
    return config;
  }();
  sync::SessionConfig session;
  // Operations a subscription holds decoded and ready before the application takes them; past it
  // they wait in the store (p2panda's app channel holds 16).
  std::size_t subscription_window = 16;
  TransportFactory transport_factory;  // empty: QUIC
  // What the builder could not accept; spawn() reports the first as InvalidArgument.
  std::vector<std::string> invalid;
};

}  // namespace p2panda
