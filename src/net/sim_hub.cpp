#include "net/sim_hub.hpp"

#include <algorithm>

#include "net/sim_connection.hpp"
#include "net/sim_transport.hpp"
#include "net/sim_wire.hpp"

namespace p2panda::net {
namespace {

using Clock = std::chrono::steady_clock;

std::pair<PublicKey, PublicKey> ordered(const PublicKey& a, const PublicKey& b) {
  return a < b ? std::pair{a, b} : std::pair{b, a};
}

// How long a lost packet takes to be sent again: about QUIC's probe timeout, a round trip plus
// margin, never less than a millisecond.
Clock::duration retransmit_after(const LinkConfig& link) {
  return std::max<Clock::duration>(2 * (link.delay + link.jitter) + std::chrono::microseconds(500),
                                   std::chrono::milliseconds(1));
}

// Owns a copy of the handler for as long as it runs: a lambda coroutine reads its captures from
// the function object, which must outlive the coroutine.
Awaitable<void> run_handler(TransportHandler handler, ConnectionHandle connection) {
  co_await handler(std::move(connection));
}

}  // namespace

std::shared_ptr<SimHub> SimHub::create(SimHubConfig config) {
  config.stream_window =
      std::max<std::size_t>(kSimPacketSize, (config.stream_window + kSimPacketSize - 1) /
                                                kSimPacketSize * kSimPacketSize);
  return std::shared_ptr<SimHub>(new SimHub(std::move(config)));
}

SimHub::SimHub(SimHubConfig config) : config_(std::move(config)) {}

std::shared_ptr<SimTransport> SimHub::add(const PrivateKey& key, asio::any_io_executor executor) {
  return add_node(key.public_key(), std::move(executor));
}

std::shared_ptr<SimTransport> SimHub::add(const PublicKey& node_id,
                                          asio::any_io_executor executor) {
  return add_node(node_id, std::move(executor));
}

std::shared_ptr<SimTransport> SimHub::add_node(const PublicKey& node_id,
                                               asio::any_io_executor executor) {
  std::uint32_t index = 0;
  {
    std::lock_guard lock(mutex_);
    index = static_cast<std::uint32_t>(nodes_.size());
    nodes_.push_back(Node{node_id, executor, {}, {}, true});
    directory_[node_id] = index;
  }
  return std::make_shared<SimTransport>(shared_from_this(), index, node_id, std::move(executor));
}

void SimHub::set_link(const PublicKey& a, const PublicKey& b, LinkConfig config) {
  std::lock_guard lock(mutex_);
  links_[ordered(a, b)] = config;
}

int SimHub::group_of(const PublicKey& node) const {
  auto found = groups_.find(node);
  return found == groups_.end() ? -1 : found->second;
}

bool SimHub::reachable(const PublicKey& a, const PublicKey& b) const {
  std::lock_guard lock(mutex_);
  return group_of(a) == group_of(b);
}

const LinkConfig& SimHub::link(std::uint32_t a, std::uint32_t b) const {
  auto found = links_.find(ordered(nodes_[a].id, nodes_[b].id));
  return found == links_.end() ? config_.link : found->second;
}

void SimHub::partition(const std::vector<std::vector<PublicKey>>& groups,
                       std::optional<std::chrono::milliseconds> detect_after) {
  auto delay = detect_after.value_or(config_.detect_after);
  std::lock_guard lock(mutex_);
  groups_.clear();
  for (std::size_t g = 0; g < groups.size(); ++g) {
    for (const auto& node : groups[g]) groups_[node] = static_cast<int>(g);
  }
  CloseInfo lost{
      CloseInfo::Kind::IdleTimeout, 0,
      "no packets from the peer for " + std::to_string(delay.count()) + " ms (partitioned)"};
  for (const auto& weak : wires_) {
    auto wire = weak.lock();
    if (!wire || wire->broken) continue;
    if (group_of(nodes_[wire->sides[0].node].id) == group_of(nodes_[wire->sides[1].node].id)) {
      continue;
    }
    break_wire(*wire, {lost, lost}, {delay, delay});
  }
}

void SimHub::heal() {
  std::lock_guard lock(mutex_);
  groups_.clear();
}

void SimHub::break_wire(SimWire& wire, const std::array<CloseInfo, 2>& info,
                        const std::array<std::chrono::milliseconds, 2>& delay) {
  wire.broken = true;
  for (int side = 0; side < 2; ++side) {
    auto& end = wire.sides[side];
    end.inbox.clear();  // in flight, lost
    if (!end.end) continue;
    // The posted handler owns the end from here on, so no cycle outlives an io_context that
    // stops before running it.
    asio::post(end.executor,
               [connection = std::move(end.end), close = info[side], wait = delay[side]]() mutable {
                 connection->end_after(wait, std::move(close));
               });
  }
}

std::mt19937_64 SimHub::direction_rng(std::uint32_t from, std::uint32_t to, std::uint64_t nth,
                                      int dir) {
  // Independent of other traffic: what one direction decides depends only on the seed, the pair,
  // which connection of the pair this is, and the packets sent in that direction.
  std::seed_seq seq{static_cast<std::uint32_t>(config_.seed),
                    static_cast<std::uint32_t>(config_.seed >> 32),
                    from,
                    to,
                    static_cast<std::uint32_t>(nth),
                    static_cast<std::uint32_t>(dir)};
  return std::mt19937_64(seq);
}

Result<SimHub::Opened> SimHub::open(std::uint32_t from, const PublicKey& to, const Bytes& alpn) {
  std::unique_lock lock(mutex_);
  auto found = directory_.find(to);
  if (found == directory_.end() || !nodes_[found->second].alive) {
    return fail(Errc::Io, "no route to node " + to.to_hex() + ": not on the simulated network");
  }
  const std::uint32_t target = found->second;
  if (group_of(nodes_[from].id) != group_of(to)) {
    return fail(Errc::Io, "no route to node " + to.to_hex() + ": partitioned away");
  }
  auto handler = nodes_[target].protocols.find(alpn);
  if (handler == nodes_[target].protocols.end()) {
    return fail(Errc::TlsRefused,
                "node " + to.to_hex() + " refused the ALPN (no protocol registered for it)");
  }

  auto wire = std::make_shared<SimWire>();
  std::uint64_t nth = connections_per_pair_[{from, target}]++;
  std::uint32_t node_of[2] = {from, target};
  for (int side = 0; side < 2; ++side) {
    wire->sides[side].node = node_of[side];
    wire->sides[side].executor = nodes_[node_of[side]].executor;
    wire->sides[side].rng = direction_rng(from, target, nth, side);
  }
  auto self = shared_from_this();
  auto connector = std::make_shared<SimConnection>(self, wire, 0, to, alpn, nodes_[from].executor);
  auto acceptor = std::make_shared<SimConnection>(self, wire, 1, nodes_[from].id, alpn,
                                                  nodes_[target].executor);
  wire->sides[0].end = connector;
  wire->sides[1].end = acceptor;
  std::erase_if(wires_, [](const auto& weak) { return weak.expired(); });
  wires_.push_back(wire);
  ++nodes_[from].stats.connections_opened;
  ++nodes_[target].stats.connections_accepted;

  // The handshake: one round trip for the connector; jitter is drawn from each direction.
  const LinkConfig& config = link(from, target);
  std::chrono::nanoseconds handshake = 2 * config.delay;
  for (auto& side : wire->sides) {
    if (config.jitter.count() > 0) {
      std::uniform_int_distribution<std::int64_t> extra(0, config.jitter.count());
      handshake += std::chrono::microseconds(extra(side.rng));
    }
  }
  auto executor = nodes_[target].executor;
  TransportHandler run = handler->second;
  // The target may be shutting down on its own thread meanwhile: its remove() waits until the
  // acceptor is handed to its executor, and no reference to it is left here.
  ++nodes_[target].opening;
  lock.unlock();  // the handler may start at once and use the hub
  asio::co_spawn(executor, run_handler(std::move(run), std::move(acceptor)), asio::detached);
  lock.lock();
  --nodes_[target].opening;
  lock.unlock();
  opened_.notify_all();
  return Opened{std::move(connector), handshake};
}

// Replaced and removed handlers are destroyed after the lock: what they captured may use the hub.
void SimHub::register_protocol(std::uint32_t node, ByteSpan alpn, TransportHandler handler) {
  std::unique_lock lock(mutex_);
  std::swap(nodes_[node].protocols[Bytes(alpn.begin(), alpn.end())], handler);
  lock.unlock();
}

void SimHub::remove(std::uint32_t node) {
  std::map<Bytes, TransportHandler> handlers;
  std::unique_lock lock(mutex_);
  nodes_[node].alive = false;
  opened_.wait(lock, [&] { return nodes_[node].opening == 0; });
  handlers.swap(nodes_[node].protocols);  // handlers may hold state of the node
  auto found = directory_.find(nodes_[node].id);
  if (found != directory_.end() && found->second == node) directory_.erase(found);
  CloseInfo gone{CloseInfo::Kind::Endpoint, 0, "transport shut down"};
  CloseInfo lost{CloseInfo::Kind::IdleTimeout, 0,
                 "no packets from the peer for " + std::to_string(config_.detect_after.count()) +
                     " ms (peer gone)"};
  for (const auto& weak : wires_) {
    auto wire = weak.lock();
    if (!wire || wire->broken) continue;
    bool ours[2] = {wire->sides[0].node == node, wire->sides[1].node == node};
    if (!ours[0] && !ours[1]) continue;
    std::array<CloseInfo, 2> info{ours[0] ? gone : lost, ours[1] ? gone : lost};
    std::array<std::chrono::milliseconds, 2> delay{
        ours[0] ? std::chrono::milliseconds(0) : config_.detect_after,
        ours[1] ? std::chrono::milliseconds(0) : config_.detect_after};
    break_wire(*wire, info, delay);
  }
}

SimNodeStats SimHub::stats(std::uint32_t node) const {
  std::lock_guard lock(mutex_);
  return nodes_[node].stats;
}

SimNodeStats SimHub::stats(const PublicKey& node_id) const {
  std::lock_guard lock(mutex_);
  auto found = directory_.find(node_id);
  return found == directory_.end() ? SimNodeStats{} : nodes_[found->second].stats;
}

void SimHub::transmit(SimWire& wire, int side, SimFrame frame) {
  std::lock_guard lock(mutex_);
  auto& from = wire.sides[side];
  auto& to = wire.sides[1 - side];
  if (wire.broken || from.closed || to.closed) return;
  const LinkConfig& config = link(from.node, to.node);
  const auto now = Clock::now();
  const std::size_t size = frame.data.size();

  std::uint64_t lost = 0;
  if (config.loss > 0) {
    // Capped so that a loss rate of 1 cannot hang the sender forever.
    std::bernoulli_distribution drop(std::min(config.loss, 0.99));
    while (lost < 1000 && drop(from.rng)) ++lost;
  }
  Clock::duration on_link{0};
  if (config.bytes_per_second > 0) {
    on_link = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
        static_cast<double>(size) / static_cast<double>(config.bytes_per_second)));
  }
  // Every retransmission occupies the link again and waits one probe timeout.
  from.link_free = std::max(now, from.link_free) + on_link * static_cast<std::int64_t>(lost + 1);
  Clock::duration arrival = config.delay + retransmit_after(config) * lost;
  if (config.jitter.count() > 0) {
    std::uniform_int_distribution<std::int64_t> extra(0, config.jitter.count());
    arrival += std::chrono::microseconds(extra(from.rng));
  }
  auto at = from.link_free + arrival;
  if (frame.kind == SimFrame::Kind::Close) {
    at = std::max(at, from.last_delivery);
  } else {
    auto& stream_last = from.stream_delivery[frame.stream];
    at = std::max(at, stream_last);
    stream_last = at;
    // Times in the past order nothing any more.
    if (from.stream_delivery.size() > 256) {
      std::erase_if(from.stream_delivery, [now](const auto& entry) { return entry.second < now; });
    }
  }
  from.last_delivery = std::max(from.last_delivery, at);

  auto& stats = nodes_[from.node].stats;
  stats.messages_sent += 1;
  stats.bytes_sent += size * (lost + 1);
  stats.retransmissions += lost;

  auto [placed, inserted] = to.inbox.emplace(std::pair{at, from.sent++}, std::move(frame));
  (void)inserted;
  // The receiver keeps a timer for the head of its inbox; only a new head needs a kick.
  if (placed == to.inbox.begin() && to.end) {
    asio::post(to.executor, [connection = to.end] { connection->pump(); });
  }
}

std::vector<SimFrame> SimHub::take_due(SimWire& wire, int side, Clock::time_point now,
                                       std::optional<Clock::time_point>& next) {
  std::lock_guard lock(mutex_);
  auto& to = wire.sides[side];
  std::vector<SimFrame> due;
  while (!to.inbox.empty() && to.inbox.begin()->first.first <= now) {
    auto& stats = nodes_[to.node].stats;
    stats.messages_received += 1;
    stats.bytes_received += to.inbox.begin()->second.data.size();
    due.push_back(std::move(to.inbox.begin()->second));
    to.inbox.erase(to.inbox.begin());
  }
  next.reset();
  if (!to.inbox.empty()) next = to.inbox.begin()->first.first;
  return due;
}

void SimHub::release(SimWire& wire, int side) {
  std::shared_ptr<SimConnection> end;
  {
    std::lock_guard lock(mutex_);
    wire.sides[side].closed = true;
    wire.sides[side].inbox.clear();
    end = std::move(wire.sides[side].end);
  }
  // `end` may be the last reference; it goes after the lock.
}

}  // namespace p2panda::net
