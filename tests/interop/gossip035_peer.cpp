// gossip035_peer: our GossipDriver in iroh-gossip 0.35 mode (Mode::V035, ALPN /iroh-gossip/0) over
// QuicTransport on 127.0.0.1, against a real iroh-gossip 0.35 node (gossip035_peer.mjs); driven by
// gossip035_test.sh.
//
//   gossip035_peer --key-hex K --print-id      (prints the node id of K: the iroh side needs it first)
//   gossip035_peer --key-hex K --port P --topic HEX --peer-id ID --peer-addr IP:PORT [--dial]
//                  --send TEXT --expect TEXT [--timeout S]
//
// It joins the topic (with the peer as bootstrap when --dial, so it dials; otherwise it waits to
// be dialled), broadcasts --send once the peer is its neighbour, and exits 0 when a broadcast equal
// to --expect arrives, 1 on timeout, 2 on bad arguments. One JSON object per line on stdout.
#include <future>
#include <iostream>
#include <mutex>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "net/quic_transport.hpp"
#include "node/gossip_driver.hpp"

namespace p2panda::interop {
namespace {

std::mutex output_mutex;
void emit(const nlohmann::json& event) {
  std::lock_guard lock(output_mutex);
  std::cout << event.dump() << std::endl;
}

struct Options {
  std::string key_hex, topic_hex, peer_id, peer_addr, send, expect;
  std::uint16_t port = 0;
  bool dial = false, print_id = false;
  int timeout_s = 30;
};

template <class T>
T or_exit(Result<T> value, const std::string& what) {
  if (!value) {
    emit({{"event", "error"}, {"message", what + ": " + value.error().to_string()}});
    std::exit(2);
  }
  return std::move(*value);
}

int run(const Options& options) {
  net::EndpointConfig config;
  config.key = or_exit(PrivateKey::from_hex(options.key_hex), "--key-hex");
  if (options.print_id) {
    std::cout << config.key.public_key().to_hex() << std::endl;
    return 0;
  }
  config.bind_v4 = net::SocketAddress(asio::ip::address_v4::loopback(), options.port);
  const Topic topic = or_exit(Topic::from_hex(options.topic_hex), "--topic");
  const NodeId peer = or_exit(PublicKey::from_hex(options.peer_id), "--peer-id");
  const net::SocketAddress peer_addr =
      or_exit(net::parse_socket_address(options.peer_addr), "--peer-addr");
  auto transport = or_exit(net::QuicTransport::bind(config), "bind");
  const Bytes send(options.send.begin(), options.send.end());
  const Bytes expect(options.expect.begin(), options.expect.end());

  std::promise<void> done;
  std::unique_ptr<node::GossipDriver> driver;
  node::GossipCallbacks callbacks;
  callbacks.neighbor = [&](const Topic& t, const NodeId& who, bool up) {
    emit({{"event", up ? "neighbor_up" : "neighbor_down"}, {"peer", who.to_hex()}});
    if (!up || who != peer) return;
    // Not from inside the driver's own callback: broadcast on the next turn of its executor.
    asio::post(transport->executor(), [&driver, t, send] {
      auto sent = driver->broadcast(t, send);
      emit({{"event", "sent"}, {"ok", sent.has_value()}});
    });
  };
  callbacks.received = [&, once = false](const Topic&, const Bytes& content,
                                         const NodeId& from) mutable {
    emit({{"event", "received"},
          {"content", std::string(content.begin(), content.end())},
          {"from", from.to_hex()}});
    if (content == expect && !once) {
      once = true;
      done.set_value();
    }
  };
  driver = std::make_unique<node::GossipDriver>(
      *transport, Bytes(gossip::kAlpnV035.begin(), gossip::kAlpnV035.end()), gossip::Mode::V035,
      gossip::TopicConfig{}, 35, std::move(callbacks));
  emit({{"event", "ready"},
        {"id", config.key.public_key().to_hex()},
        {"port", transport->local_addresses().front().port()}});
  asio::post(transport->executor(), [&] {
    driver->start();
    driver->add_peer(net::PeerAddress{peer, {peer_addr}});
    driver->join(topic, options.dial ? std::vector<NodeId>{peer} : std::vector<NodeId>{});
  });
  auto finished = done.get_future();
  const bool ok =
      finished.wait_for(std::chrono::seconds(options.timeout_s)) == std::future_status::ready;
  if (!ok) emit({{"event", "error"}, {"message", "timed out waiting for the expected broadcast"}});
  asio::post(transport->executor(), asio::use_future([&] {
    driver->shutdown();
    driver->release();
  })).get();
  // The endpoint thread first (its parked coroutines, the driver's tick among them, die with
  // it), then the driver they point to; the other order is a use-after-free (ASan).
  transport.reset();
  driver.reset();
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace p2panda::interop

int main(int argc, char** argv) {
  p2panda::interop::Options options;
  CLI::App app{"our gossip driver in iroh-gossip 0.35 mode, for interop tests"};
  app.add_option("--key-hex", options.key_hex)->required();
  app.add_flag("--print-id", options.print_id);
  app.add_option("--port", options.port);
  app.add_option("--topic", options.topic_hex);
  app.add_option("--peer-id", options.peer_id);
  app.add_option("--peer-addr", options.peer_addr);
  app.add_flag("--dial", options.dial);
  app.add_option("--send", options.send);
  app.add_option("--expect", options.expect);
  app.add_option("--timeout", options.timeout_s);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return p2panda::interop::run(options);
}
