// The Node API: a complete local-first node in one call.
//
//   auto node = co_await p2panda::spawn();                    // Result<Node>
//   auto stream = co_await node->stream<std::string>(topic);  // Result<Stream<std::string>>
//   co_await stream->publisher.publish("Hello, Panda!");
//   while (auto event = co_await stream->subscription.next()) { ... }
//
// Every awaitable may be awaited from any asio executor; the work runs on the node's thread. The
// blocking forms (spawn_blocking(), *_blocking(), next(timeout)) are for plain threads and
// REQUIRE not being called on the node's own thread. Nothing throws: errors are Result values.
// Handles (Node, Publisher, Subscription) are cheap copyable references; the node shuts down
// when shutdown() is called or its last handle is gone. See docs/node.md.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <p2panda/awaitable.hpp>
#include <p2panda/codec.hpp>
#include <p2panda/ephemeral_stream.hpp>
#include <p2panda/events.hpp>
#include <p2panda/log_heights.hpp>
#include <p2panda/operation.hpp>
#include <p2panda/stream_raw.hpp>

namespace p2panda {

template <class T>
class Publisher {
 public:
  explicit Publisher(detail::RawPublisher raw) : raw_(std::move(raw)) {}

  // Signs, persists and forwards `message`; returns the operation id once it is stored.
  Awaitable<Result<Hash>> publish(const T& message) { return raw_.publish(Codec<T>::encode(message), false); }
  Result<Hash> publish_blocking(const T& message) {
    return raw_.publish_blocking(Codec<T>::encode(message), false);
  }
  // Publishes with the prune flag: every earlier entry of our log in this topic is deleted here
  // and on every peer that syncs it. `snapshot` becomes the body (e.g. a state snapshot); without
  // one the operation has no body (acked at once, never delivered).
  Awaitable<Result<Hash>> prune(const T& snapshot) {
    return raw_.publish(std::optional<Bytes>(Codec<T>::encode(snapshot)), true);
  }
  Awaitable<Result<Hash>> prune() { return raw_.publish(std::nullopt, true); }
  // Ingests operations obtained elsewhere (another device, a file) into this topic.
  Awaitable<Result<ImportEnded>> import(std::vector<Operation> operations) {
    return raw_.import(std::move(operations));
  }
  // Ends this topic's sync sessions gracefully.
  Awaitable<void> close() { return raw_.close(); }
  const Topic& topic() const { return raw_.topic(); }

 private:
  detail::RawPublisher raw_;
};

template <class T>
class Subscription {
 public:
  explicit Subscription(detail::RawSubscription raw) : raw_(std::move(raw)) {}

  // The next event; NodeShutDown once the node is gone.
  Awaitable<Result<StreamEvent<T>>> next() {
    auto waiting = raw_.next();
    auto raw = co_await std::move(waiting);
    if (!raw) co_return Unexpected{raw.error()};
    co_return typed(std::move(*raw));
  }
  // Blocking: nullopt when nothing arrived within `timeout`.
  Result<std::optional<StreamEvent<T>>> next(std::chrono::milliseconds timeout) {
    auto raw = raw_.next_blocking(timeout);
    if (!raw) return Unexpected{raw.error()};
    if (!*raw) return std::optional<StreamEvent<T>>{};
    return std::optional<StreamEvent<T>>(typed(std::move(**raw)));
  }
  // Acks an operation and everything before it in its author's log (explicit ack policy).
  Awaitable<Result<void>> ack(const Hash& id) { return raw_.ack(id); }
  Result<void> ack_blocking(const Hash& id) { return raw_.ack_blocking(id); }
  // Redeliver now.
  Awaitable<void> nak(const Hash& id) { return raw_.nak(id); }
  const Topic& topic() const { return raw_.topic(); }

 private:
  StreamEvent<T> typed(detail::RawEvent raw) {
    if (auto* processed = std::get_if<detail::RawProcessed>(&raw)) {
      auto message = Codec<T>::decode(processed->body);
      if (!message) return DecodeFailed{processed->operation, message.error()};
      return Processed<T>{processed->operation, std::move(*message), processed->source,
                          processed->delivery};
    }
    return std::visit(
        [](auto&& event) -> StreamEvent<T> {
          using E = std::decay_t<decltype(event)>;
          if constexpr (std::is_same_v<E, detail::RawProcessed>) {
            return ReplayEnded{};  // unreachable: handled above
          } else {
            return std::move(event);
          }
        },
        std::move(raw));
  }

  detail::RawSubscription raw_;
};

template <class T>
struct Stream {
  Publisher<T> publisher;
  Subscription<T> subscription;
};

enum class MdnsMode { Disabled, Passive, Active };

struct NodeMetrics {
  std::uint64_t operations_published = 0;
  std::uint64_t operations_received = 0;   // from sync sessions, before validation
  std::uint64_t operations_ingested = 0;   // newly stored from peers and imports
  std::uint64_t operations_rejected = 0;   // refused by validation
  std::uint64_t operations_delivered = 0;  // Processed events handed to subscriptions
  std::uint64_t sync_sessions_started = 0;
  // Ended with an error. Not counted: one the same peer's newer session replaced before it
  // started (the loser of a simultaneous dial, say: the peer's session serves the topic), one
  // dropped during its handshake, and the node's own shutdown.
  std::uint64_t sync_sessions_failed = 0;
  std::uint64_t sync_sessions_running = 0;
  std::uint64_t bytes_sent = 0;      // sync payloads (operation headers and bodies)
  std::uint64_t bytes_received = 0;
  std::uint64_t ephemeral_published = 0;
  std::uint64_t ephemeral_received = 0;  // broadcasts on ephemeral topics, before checks
  std::uint64_t ephemeral_rejected = 0;  // malformed or badly signed, not delivered
  std::uint64_t connections = 0;  // open QUIC connections (0 on the simulated network)
};

// What discovery did so far (docs/discovery.md).
struct DiscoveryMetrics {
  bool mdns_running = false;         // false: disabled, not started yet, or the socket failed
  std::uint64_t peers_found = 0;     // distinct nodes learnt from mDNS
  std::uint64_t mdns_refused = 0;    // announcements whose signature did not verify
  std::uint64_t mdns_bytes_sent = 0;  // summed over the mDNS interfaces
  std::uint64_t mdns_bytes_received = 0;
  // Confidential topic discovery (both roles): sessions run and those that failed (timeouts,
  // unreachable nodes, protocol errors), transport infos received that were new or newer than
  // ours, and infos refused because their signature did not verify (or did not decode).
  std::uint64_t topic_sessions = 0;
  std::uint64_t topic_sessions_failed = 0;
  std::uint64_t infos_learnt = 0;
  std::uint64_t infos_refused = 0;
  // Bound to a wildcard address: how often the interfaces' addresses changed and the node
  // signed and announced its new ones (mDNS, topic discovery, gossip).
  std::uint64_t address_changes = 0;
  // How often mDNS found interfaces of its own removed and created anew (a USB adapter plugged
  // in again, a VPN reconnecting), joined them again and announced the node there (one count
  // per change, however many interfaces it concerned).
  std::uint64_t mdns_rejoins = 0;
};

class Node {
 public:
  explicit Node(std::shared_ptr<detail::NodeEngine> engine);

  const NodeId& id() const;
  const NetworkId& network_id() const;
  // Where peers can reach this node ("ip:port"), empty on the simulated network.
  std::vector<std::string> addresses() const;

  // Overloads, not default arguments: g++ 12 destroys a default argument's temporary twice
  // when the call sits in a co_await expression (docs/node.md, "Compiler notes").
  template <class T>
  Awaitable<Result<Stream<T>>> stream(Topic topic, StreamOptions options) {
    return typed<T>(open(topic, std::move(options)));
  }
  template <class T>
  Awaitable<Result<Stream<T>>> stream(Topic topic) {
    return stream<T>(topic, StreamOptions{});
  }
  template <class T>
  Awaitable<Result<Stream<T>>> stream_from(Topic topic, StreamFrom from, StreamOptions options) {
    options.from = std::move(from);
    return stream<T>(topic, std::move(options));
  }
  template <class T>
  Awaitable<Result<Stream<T>>> stream_from(Topic topic, StreamFrom from) {
    return stream_from<T>(topic, std::move(from), StreamOptions{});
  }
  template <class T>
  Result<Stream<T>> stream_blocking(Topic topic, StreamOptions options = {}) {
    auto raw = open_blocking(topic, std::move(options));
    if (!raw) return Unexpected{raw.error()};
    return Stream<T>{Publisher<T>(raw->first), Subscription<T>(raw->second)};
  }

  // Signed messages over gossip only, never stored (p2panda's ephemeral_stream).
  template <class T>
  Awaitable<Result<EphemeralStream<T>>> ephemeral_stream(Topic topic) {
    return typed_ephemeral<T>(open_ephemeral(topic));
  }
  template <class T>
  Result<EphemeralStream<T>> ephemeral_stream_blocking(Topic topic) {
    auto raw = open_ephemeral_blocking(topic);
    if (!raw) return Unexpected{raw.error()};
    return EphemeralStream<T>{EphemeralPublisher<T>(raw->first),
                              EphemeralSubscription<T>(raw->second)};
  }
  using RawEphemeral = std::pair<detail::RawEphemeralPublisher, detail::RawEphemeralSubscription>;
  Awaitable<Result<RawEphemeral>> open_ephemeral(Topic topic);
  Result<RawEphemeral> open_ephemeral_blocking(Topic topic);

  // System events from now on: peers, gossip neighbours, sync sessions (events.hpp).
  Awaitable<Result<EventStream>> event_stream();
  Result<EventStream> event_stream_blocking();

  // Adds a peer to sync with: its node id and the addresses it listens on ("ip:port").
  // Errors: InvalidArgument for an address that does not parse.
  Result<void> insert_bootstrap(const NodeId& node, const std::vector<std::string>& addresses);

  NodeMetrics metrics() const;
  DiscoveryMetrics discovery_metrics() const;

  using RawStream = std::pair<detail::RawPublisher, detail::RawSubscription>;
  // The untyped stream under stream<T>().
  Awaitable<Result<RawStream>> open_raw(Topic topic, StreamOptions options) {
    return open(topic, std::move(options));
  }

  // Ends every session gracefully, stops the node's thread and closes the store. Pending and later
  // calls on any handle fail with NodeShutDown. Idempotent; REQUIRES not the node's own thread.
  void shutdown();

 private:
  template <class T>
  static Awaitable<Result<Stream<T>>> typed(Awaitable<Result<RawStream>> opening) {
    auto raw = co_await std::move(opening);
    if (!raw) co_return Unexpected{raw.error()};
    co_return Stream<T>{Publisher<T>(raw->first), Subscription<T>(raw->second)};
  }

  template <class T>
  static Awaitable<Result<EphemeralStream<T>>> typed_ephemeral(
      Awaitable<Result<RawEphemeral>> opening) {
    auto raw = co_await std::move(opening);
    if (!raw) co_return Unexpected{raw.error()};
    co_return EphemeralStream<T>{EphemeralPublisher<T>(raw->first),
                                 EphemeralSubscription<T>(raw->second)};
  }

  Awaitable<Result<RawStream>> open(Topic topic, StreamOptions options);
  Result<RawStream> open_blocking(Topic topic, StreamOptions options);

  std::shared_ptr<detail::NodeEngine> engine_;
};

struct NodeConfig;

class NodeBuilder {
 public:
  NodeBuilder();
  NodeBuilder(NodeBuilder&&) noexcept;
  NodeBuilder& operator=(NodeBuilder&&) noexcept;
  ~NodeBuilder();

  // Node identity: signs operations and authenticates connections. Default: a random key.
  NodeBuilder& private_key(PrivateKey key);
  // "sqlite:PATH", "sqlite::memory:", a path, or ":memory:" (default).
  NodeBuilder& database_url(std::string url);
  // Nodes talk only within one network id (mixed into every ALPN). Default: BLAKE3("p2panda").
  NodeBuilder& network_id(NetworkId id);
  // Default 127.0.0.1:0 (any free port). Use "0.0.0.0" to accept connections from other hosts.
  NodeBuilder& bind_v4(std::string ip, std::uint16_t port = 0);
  NodeBuilder& bind_v6(std::string ip, std::uint16_t port = 0);
  NodeBuilder& ack_policy(AckPolicy policy);
  NodeBuilder& bootstrap(NodeId node, std::vector<std::string> addresses);
  // mDNS discovery (docs/discovery.md): Active (default) queries and responds, Passive only
  // announces itself and responds, Disabled does neither.
  NodeBuilder& mdns_mode(MdnsMode mode);
  // The interfaces mDNS runs on, by name ("eth0"); repeatable. None named: loopback only, so a
  // node never multicasts onto a network nobody chose. Unknown names: spawn() runs without mDNS.
  NodeBuilder& mdns_interface(std::string name);
  NodeBuilder& mdns_interfaces(std::vector<std::string> names);
  // The mDNS port (default 5353); tests use another so that no system responder is involved.
  NodeBuilder& mdns_port(std::uint16_t port);
  // Stored for when relays exist; today it changes nothing.
  NodeBuilder& relay_url(std::string url);
  // How often missing sync sessions are retried (default 5 s, as p2panda). A (peer, topic) whose
  // attempts keep failing waits twice as long after each, up to 8x this (SyncSessionFailed).
  NodeBuilder& sync_retry(std::chrono::milliseconds interval);
  // Advanced: the raw configuration (transport factory for the simulated network, limits).
  NodeConfig& config();

  Awaitable<Result<Node>> spawn();
  Result<Node> spawn_blocking();

 private:
  std::unique_ptr<NodeConfig> config_;
};

NodeBuilder builder();
// A node with defaults: random key, in-memory SQLite, listening on 127.0.0.1.
Awaitable<Result<Node>> spawn();
Result<Node> spawn_blocking();

}  // namespace p2panda
