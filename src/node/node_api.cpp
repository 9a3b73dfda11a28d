// Node, NodeBuilder and spawn(): the entry points of node.hpp.
#include <future>

#include "node/engine.hpp"
#include "node/on_node.hpp"

namespace p2panda {
namespace {

// The last public handle of a node shuts it down. Handles hold aliasing pointers into this
// guard; the engine's own coroutines hold the engine directly and so do not keep it running.
struct Lifetime {
  std::shared_ptr<detail::NodeEngine> engine;
  ~Lifetime() {
    if (engine) engine->shutdown();
  }
};

// Once the last handle of both halves of an opened stream is gone (publisher and subscription,
// and the awaitables they started), the node lets go of the topic: unless another opened stream
// of it is held, it stops syncing it (p2panda: dropping both closes sync for the topic). The
// posted task holds the engine, not the node's Lifetime, so it cannot be what shuts the node
// down.
struct FollowLease {
  std::shared_ptr<detail::NodeEngine> engine;
  Topic topic;
  ~FollowLease() {
    if (!engine || engine->is_shut_down()) return;
    asio::post(engine->executor(),
               [engine = engine->shared_from_this(), topic = topic] { engine->release(topic); });
  }
};

// A subscription whose last handle is gone stops receiving: its stream is closed on the node
// thread, so nothing accumulates for a reader that no longer exists.
struct StreamLease {
  std::shared_ptr<detail::NodeEngine> engine;
  std::shared_ptr<detail::TopicStream> stream;
  std::shared_ptr<FollowLease> follow;  // released after this lease's close, in order
  ~StreamLease() {
    if (!engine || engine->is_shut_down()) return;
    asio::post(engine->executor(), [stream = stream] { stream->close(); });
  }
};

Result<Node> make_node(NodeConfig config) {
  if (!config.invalid.empty()) return fail(Errc::InvalidArgument, config.invalid.front());
  auto engine = detail::NodeEngine::create(std::move(config));
  if (!engine) return Unexpected{std::move(engine).error()};
  // Built in place: a temporary Lifetime would shut the node down when it dies.
  auto lifetime = std::make_shared<Lifetime>();
  lifetime->engine = std::move(*engine);
  return Node(std::shared_ptr<detail::NodeEngine>(lifetime, lifetime->engine.get()));
}

Result<net::PeerAddress> peer_address(const NodeId& node, const std::vector<std::string>& texts) {
  net::PeerAddress peer{node, {}};
  for (const auto& text : texts) {
    auto address = net::parse_socket_address(text);
    if (!address) return Unexpected{std::move(address).error()};
    peer.addresses.push_back(*address);
  }
  return peer;
}

}  // namespace

Node::Node(std::shared_ptr<detail::NodeEngine> engine) : engine_(std::move(engine)) {}

const NodeId& Node::id() const { return engine_->id(); }
const NetworkId& Node::network_id() const { return engine_->config().network_id; }
std::vector<std::string> Node::addresses() const { return engine_->addresses(); }
NodeMetrics Node::metrics() const { return engine_->metrics(); }
DiscoveryMetrics Node::discovery_metrics() const {
  const auto& counters = engine_->discovery_counters();
  return DiscoveryMetrics{counters.mdns_running.load(), counters.peers_found.load(),
                          counters.mdns_refused.load(), counters.mdns_bytes_sent.load(),
                          counters.mdns_bytes_received.load(),
                          counters.topic_sessions.load(),
                          counters.topic_sessions_failed.load(),
                          counters.infos_learnt.load(),
                          counters.infos_refused.load(),
                          counters.address_changes.load(),
                          counters.mdns_rejoins.load()};
}
void Node::shutdown() { engine_->shutdown(); }

namespace {

using OpenResult = std::optional<Result<std::shared_ptr<detail::TopicStream>>>;

net::Awaitable<OpenResult> open_task(std::shared_ptr<detail::NodeEngine> engine, Topic topic,
                                     StreamOptions options) {
  co_return engine->open(topic, std::move(options));
}

}  // namespace

Awaitable<Result<Node::RawStream>> Node::open(Topic topic, StreamOptions options) {
  if (engine_->is_shut_down()) co_return fail(Errc::NodeShutDown, "the node was shut down");
  // Built in locals, not inside the co_await expression: g++ 12 (docs/node.md).
  auto task = open_task(engine_, topic, std::move(options));
  auto spawned = asio::co_spawn(engine_->executor(), std::move(task), detail::uncancelled());
  auto opened = co_await std::move(spawned);
  if (!opened) co_return fail(Errc::NodeShutDown, "the node was shut down");
  if (!*opened) co_return Unexpected{opened->error()};
  auto follow = std::make_shared<FollowLease>();
  follow->engine = engine_;
  follow->topic = topic;
  auto lease = std::make_shared<StreamLease>();
  lease->engine = engine_;
  lease->stream = **opened;
  lease->follow = follow;
  std::shared_ptr<detail::TopicStream> published(follow, lease->stream.get());
  std::shared_ptr<detail::TopicStream> leased(lease, lease->stream.get());
  co_return RawStream{detail::RawPublisher(engine_, std::move(published)),
                      detail::RawSubscription(engine_, std::move(leased))};
}

namespace {
net::Awaitable<std::optional<Result<Node::RawStream>>> open_blocking_task(
    Node self, Topic topic, StreamOptions options) {
  auto opening = self.open_raw(topic, std::move(options));
  auto opened = co_await std::move(opening);
  co_return opened;
}
}  // namespace

Result<Node::RawStream> Node::open_blocking(Topic topic, StreamOptions options) {
  auto task = open_blocking_task(*this, topic, std::move(options));
  auto future = asio::co_spawn(engine_->executor(), std::move(task), asio::use_future);
  try {
    auto result = future.get();
    if (!result) return fail(Errc::NodeShutDown, "the node was shut down");
    return std::move(*result);
  } catch (const std::exception&) {
    return fail(Errc::NodeShutDown, "the node was shut down");
  }
}

Result<void> Node::insert_bootstrap(const NodeId& node, const std::vector<std::string>& addresses) {
  auto peer = peer_address(node, addresses);
  if (!peer) return Unexpected{std::move(peer).error()};
  if (engine_->is_shut_down()) return fail(Errc::NodeShutDown, "the node was shut down");
  asio::post(engine_->executor(), [engine = engine_, peer = std::move(*peer)] {
    if (!engine->is_shut_down()) engine->add_bootstrap(peer);
  });
  return {};
}

NodeBuilder::NodeBuilder() : config_(std::make_unique<NodeConfig>()) {}
NodeBuilder::NodeBuilder(NodeBuilder&&) noexcept = default;
NodeBuilder& NodeBuilder::operator=(NodeBuilder&&) noexcept = default;
NodeBuilder::~NodeBuilder() = default;

NodeBuilder& NodeBuilder::private_key(PrivateKey key) {
  config_->key = std::move(key);
  return *this;
}
NodeBuilder& NodeBuilder::database_url(std::string url) {
  config_->database_url = std::move(url);
  return *this;
}
NodeBuilder& NodeBuilder::network_id(NetworkId id) {
  config_->network_id = id;
  return *this;
}
NodeBuilder& NodeBuilder::bind_v4(std::string ip, std::uint16_t port) {
  asio::error_code error;
  auto address = asio::ip::make_address_v4(ip, error);
  if (error) config_->invalid.push_back("bind_v4: \"" + ip + "\" is not an IPv4 address");
  config_->bind_v4 = net::SocketAddress(address, port);
  return *this;
}
NodeBuilder& NodeBuilder::bind_v6(std::string ip, std::uint16_t port) {
  asio::error_code error;
  auto address = asio::ip::make_address_v6(ip, error);
  if (error) config_->invalid.push_back("bind_v6: \"" + ip + "\" is not an IPv6 address");
  config_->bind_v6 = net::SocketAddress(address, port);
  return *this;
}
NodeBuilder& NodeBuilder::ack_policy(AckPolicy policy) {
  config_->ack_policy = policy;
  return *this;
}
NodeBuilder& NodeBuilder::bootstrap(NodeId node, std::vector<std::string> addresses) {
  auto peer = peer_address(node, addresses);
  if (!peer) {
    config_->invalid.push_back("bootstrap: " + peer.error().message());
  } else {
    config_->bootstrap.push_back(std::move(*peer));
  }
  return *this;
}
NodeBuilder& NodeBuilder::mdns_mode(MdnsMode mode) {
  config_->mdns = mode;
  return *this;
}
NodeBuilder& NodeBuilder::mdns_interface(std::string name) {
  config_->mdns_interfaces.push_back(std::move(name));
  return *this;
}
NodeBuilder& NodeBuilder::mdns_interfaces(std::vector<std::string> names) {
  config_->mdns_interfaces = std::move(names);
  return *this;
}
NodeBuilder& NodeBuilder::mdns_port(std::uint16_t port) {
  config_->mdns_port = port;
  return *this;
}
NodeBuilder& NodeBuilder::relay_url(std::string url) {
  config_->relay_url = std::move(url);
  return *this;
}
NodeBuilder& NodeBuilder::sync_retry(std::chrono::milliseconds interval) {
  config_->sync_retry = interval;
  return *this;
}
NodeConfig& NodeBuilder::config() { return *config_; }

Awaitable<Result<Node>> NodeBuilder::spawn() { co_return make_node(*config_); }
Result<Node> NodeBuilder::spawn_blocking() { return make_node(*config_); }

NodeBuilder builder() { return NodeBuilder(); }
Awaitable<Result<Node>> spawn() { co_return make_node(NodeConfig{}); }
Result<Node> spawn_blocking() { return make_node(NodeConfig{}); }

}  // namespace p2panda
