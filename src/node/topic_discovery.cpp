#include "node/topic_discovery.hpp"

#include <algorithm>
#include <random>

#include "node/engine.hpp"
#include "node/gossip_node.hpp"

namespace p2panda::node {

// One session in flight, as the watchdog sees it.
struct TopicDiscovery::Session {
  net::ConnectionHandle connection;
  net::StreamHandle stream;
  bool done = false;
  bool timed_out = false;
};

namespace {

using discovery::PsiStatus;
using Session = TopicDiscovery::Session;

// Application codes. Bob ends a finished session with (0, "done"), as p2panda does.
constexpr std::uint64_t kDone = 0;
constexpr std::uint64_t kFailed = 1;
constexpr std::uint64_t kTimeout = 2;
constexpr std::uint64_t kBusy = 3;

// 32 bytes from the CSPRNG (libsodium, through Topic::random).
discovery::SaltHalf random_salt() {
  return *discovery::SaltHalf::from_bytes(Topic::random().bytes());
}

void cut(Session& session, std::uint64_t code, std::string_view reason) {
  if (session.stream) session.stream->abort(code);
  if (session.connection) session.connection->close(code, reason);
}

// Ends the session's stream and connection when it is still running after `timeout`: pending
// reads and writes then fail, and the session reports a failure.
net::Awaitable<void> watchdog(std::shared_ptr<Session> session, std::chrono::milliseconds timeout) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, timeout);
  co_await timer.async_wait(net::use_tuple);
  if (session->done) co_return;
  session->timed_out = true;
  cut(*session, kTimeout, "discovery session timed out");
}

// Feeds received frames to `machine` and sends what it asks for, until it is Done or Failed.
template <class Machine>
net::Awaitable<PsiStatus> exchange(net::TransportStream& stream, Machine& machine,
                                   std::size_t max_frame) {
  while (machine.status() == PsiStatus::InProgress) {
    auto reading = net::read_frame(stream, max_frame);
    auto frame = co_await std::move(reading);
    if (!frame) co_return PsiStatus::Failed;
    if (!*frame) co_return machine.handle_end();
    auto step = machine.handle(**frame);
    if (!step) co_return PsiStatus::Failed;
    for (const auto& payload : step->send) {
      auto writing = net::write_frame(stream, payload);
      auto written = co_await std::move(writing);
      if (!written) co_return PsiStatus::Failed;
    }
  }
  co_return machine.status();
}

}  // namespace

TopicDiscovery::TopicDiscovery(detail::NodeEngine& engine, DiscoveryCounters& counters,
                               TopicDiscoveryConfig config)
    : engine_(engine),
      counters_(counters),
      config_(config),
      book_(engine.store()),
      alpn_(protocol_alpn("p2panda/confidential_discovery/v1", engine.config().network_id)) {}

TopicDiscovery::~TopicDiscovery() = default;

void TopicDiscovery::start(discovery::TransportInfo own) {
  own_ = std::move(own);
  topics_ = engine_.gossip().joined_topics();
  engine_.transport().register_protocol(
      alpn_, [this](net::ConnectionHandle connection) { return serve(std::move(connection)); });
  std::random_device device;
  const auto now = now_micros();
  for (std::size_t i = 0; i < discovery::kDefaultWalkerCount; ++i) {
    const std::uint64_t seed = (static_cast<std::uint64_t>(device()) << 32) | device();
    walkers_.push_back(
        std::make_unique<discovery::RandomWalker>(engine_.id(), seed, now, config_.walker));
    asio::co_spawn(engine_.executor(), walk(i), asio::detached);
  }
}

void TopicDiscovery::topics_changed() {
  if (check_topics()) wake_.notify_all();
}

bool TopicDiscovery::check_topics() {
  if (stopped_ || walkers_.empty()) return false;
  auto current = engine_.gossip().joined_topics();
  if (current == topics_) return false;
  topics_ = std::move(current);
  const auto now = now_micros();
  for (auto& walker : walkers_) walker->reset(now);
  return true;
}

void TopicDiscovery::shutdown() {
  stopped_ = true;
  auto sessions = sessions_;
  for (const auto& session : sessions) cut(*session, kFailed, "node shut down");
  // Their coroutines hold them still; the driver must not keep transport objects past the
  // executor (the engine destroys the driver after the io_context).
  sessions_.clear();
  wake_.notify_all();
}

net::Awaitable<void> TopicDiscovery::walk(std::size_t index) {
  auto& walker = *walkers_[index];
  while (!stopped_) {
    check_topics();
    const auto now = now_micros();
    auto deadline = walker.next_deadline();
    if (deadline && *deadline > now) {
      // Wake at the deadline, or earlier to notice new topics (ephemeral ones have no hook).
      const auto until = std::min(from_micros(*deadline), Clock::now() + config_.topics_poll);
      co_await wake_.wait_until(until);
      continue;
    }
    auto step = walker.next_step(snapshot(), now);
    if (!step || !*step) continue;  // nobody to ask: the walker set a deadline 2 s away
    auto visiting = visit(**step);
    auto outcome = co_await std::move(visiting);
    if (stopped_) co_return;
    if (outcome) {
      (void)walker.session_succeeded(outcome->learned, outcome->fresh, now_micros());
    } else {
      (void)walker.session_failed(now_micros());
    }
  }
}

std::vector<discovery::KnownNode> TopicDiscovery::snapshot() {
  std::vector<discovery::KnownNode> out;
  auto records =
      engine_.store().query([](store::StoreReader& reader) { return reader.all_nodes(); });
  if (!records) return out;
  for (const auto& record : *records) {
    if (record.node_id == engine_.id() || is_stale(record)) continue;
    out.push_back({record.node_id, record.bootstrap});
  }
  return out;
}

std::optional<net::PeerAddress> TopicDiscovery::address_of(const NodeId& node) {
  auto info = book_.info(node);
  if (!info || !*info) return std::nullopt;
  net::PeerAddress peer{node, {}};
  for (const auto& address : (*info)->addresses) {
    peer.addresses.push_back(to_socket_address(address));
  }
  return peer;
}

discovery::ShareFn TopicDiscovery::share_with(const NodeId& remote) {
  return [this, remote](const std::set<Topic>& common) {
    discovery::TransportInfos out;
    if (own_) out.emplace(engine_.id(), *own_);
    if (common.empty()) return out;
    // Only nodes the book records for a topic we share with this remote: never the whole book,
    // never the remote itself, never trusted (unsigned) bootstrap infos.
    auto infos = book_.signed_infos_for(common, {engine_.id(), remote},
                                        config_.limits.max_nodes - out.size());
    if (!infos) return out;
    const auto& limits = config_.limits.transport_info;
    for (const auto& [node, info] : *infos) {
      if (info.addresses.size() <= limits.max_addresses &&
          (!info.relay_url || info.relay_url->size() <= limits.max_relay_url_bytes)) {
        out.emplace(node, info);
      }
    }
    return out;
  };
}

TopicDiscovery::Absorbed TopicDiscovery::absorb(const NodeId& remote,
                                                const discovery::PsiResult& result) {
  Absorbed out;
  const auto now = Timestamp::now();
  for (const auto& [node, info] : result.transport_infos) {
    if (node == engine_.id()) continue;
    if (!discovery::verify_transport_info(node, info)) {
      counters_.infos_refused.fetch_add(1);
      continue;
    }
    out.learned.push_back(node);
    auto update = book_.update(node, info, now);
    const bool fresh = update && *update == discovery::InfoUpdate::Accept;
    if (fresh) {
      ++out.fresh;
      counters_.infos_learnt.fetch_add(1);
    }
    // A node reached through a topic in common (the remote itself, or one it shared for such a
    // topic) is worth meeting: gossip and sync dial it. With nothing in common, it only goes
    // into the book.
    if (result.common_topics.empty() || (!fresh && handed_.contains(node))) continue;
    handed_.insert(node);
    net::PeerAddress peer{node, {}};
    for (const auto& address : info.addresses)
      peer.addresses.push_back(to_socket_address(address));
    engine_.add_peer(std::move(peer), PeerDiscovered::Via::Discovery);
  }
  const std::vector<Topic> common(result.common_topics.begin(), result.common_topics.end());
  (void)book_.set_topics(remote, common);
  return out;
}

net::Awaitable<std::optional<TopicDiscovery::Absorbed>> TopicDiscovery::visit(NodeId remote) {
  auto peer = address_of(remote);
  if (!peer) co_return std::nullopt;
  auto session = std::make_shared<Session>();
  sessions_.insert(session);
  counters_.topic_sessions.fetch_add(1);
  asio::co_spawn(engine_.executor(), watchdog(session, config_.session_timeout), asio::detached);
  auto running = run_alice(session, std::move(*peer));
  auto result = co_await std::move(running);
  session->done = true;
  sessions_.erase(session);
  if (!result || stopped_) {
    counters_.topic_sessions_failed.fetch_add(1);
    cut(*session, kFailed, "discovery session failed");
    co_return std::nullopt;
  }
  if (session->connection) session->connection->close(kDone, "done");
  co_return absorb(remote, *result);
}

net::Awaitable<std::optional<discovery::PsiResult>> TopicDiscovery::run_alice(
    std::shared_ptr<Session> session, net::PeerAddress peer) {
  const NodeId remote = peer.node_id;
  auto connecting = engine_.transport().connect(std::move(peer), alpn_);
  auto connection = co_await std::move(connecting);
  if (stopped_) co_return std::nullopt;
  engine_.connection_outcome(remote, connection.has_value());
  if (!connection) co_return std::nullopt;
  session->connection = *connection;
  if (session->timed_out) co_return std::nullopt;
  auto opening = session->connection->open_bi();
  auto stream = co_await std::move(opening);
  if (!stream || session->timed_out || stopped_) co_return std::nullopt;
  session->stream = *stream;
  check_topics();
  discovery::PsiAlice alice(topics_, random_salt(), share_with(remote), config_.limits);
  auto first = alice.start();
  if (!first) co_return std::nullopt;
  auto writing = net::write_frame(*session->stream, *first);
  auto written = co_await std::move(writing);
  if (!written) co_return std::nullopt;
  auto exchanging = exchange(*session->stream, alice, config_.max_frame);
  auto status = co_await std::move(exchanging);
  if (status != PsiStatus::Done) co_return std::nullopt;
  auto finishing = session->stream->finish();
  (void)co_await std::move(finishing);
  // Bob closes once he has our Nodes: wait for that (or the timeout) so that they arrive.
  auto closing = net::read_frame(*session->stream, config_.max_frame);
  (void)co_await std::move(closing);
  co_return alice.result();
}

net::Awaitable<void> TopicDiscovery::serve(net::ConnectionHandle connection) {
  if (stopped_ || incoming_ >= config_.max_incoming) {
    connection->close(kBusy, "busy");
    co_return;
  }
  ++incoming_;
  auto session = std::make_shared<Session>();
  session->connection = connection;
  sessions_.insert(session);
  counters_.topic_sessions.fetch_add(1);
  asio::co_spawn(engine_.executor(), watchdog(session, config_.session_timeout), asio::detached);
  const NodeId remote = connection->remote_id();
  std::optional<discovery::PsiResult> result;
  auto accepting = connection->accept_bi();
  auto stream = co_await std::move(accepting);
  if (stream && !session->timed_out && !stopped_) {
    session->stream = *stream;
    check_topics();
    discovery::PsiBob bob(topics_, random_salt(), share_with(remote), config_.limits);
    auto exchanging = exchange(*session->stream, bob, config_.max_frame);
    auto status = co_await std::move(exchanging);
    if (status == PsiStatus::Done && !stopped_) result = bob.result();
  }
  session->done = true;
  sessions_.erase(session);
  --incoming_;
  if (!result) {
    counters_.topic_sessions_failed.fetch_add(1);
    cut(*session, kFailed, "discovery session failed");
    co_return;
  }
  absorb(remote, *result);
  auto finishing = session->stream->finish();
  (void)co_await std::move(finishing);
  connection->close(kDone, "done");
}

}  // namespace p2panda::node
