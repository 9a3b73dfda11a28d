#include "node/discovery_manager.hpp"

#include <algorithm>
#include <random>

#include "discovery/mdns.hpp"
#include "net/interfaces.hpp"
#include "node/engine.hpp"

namespace p2panda::node {

namespace mdns = discovery::mdns;

DiscoveryManager::DiscoveryManager(detail::NodeEngine& engine, DiscoveryCounters& counters)
    : engine_(engine), counters_(counters), book_(engine.store()) {}

DiscoveryManager::~DiscoveryManager() = default;

namespace {

std::vector<std::string> mdns_interfaces(const NodeConfig& config) {
  // Loopback unless interfaces are named: a node never multicasts onto a LAN nobody chose.
  if (config.mdns_interfaces.empty()) return {"lo"};
  return config.mdns_interfaces;
}

bool bound_to_wildcard(const std::vector<net::SocketAddress>& bound) {
  return std::any_of(bound.begin(), bound.end(), [](const net::SocketAddress& address) {
    return address.address().is_unspecified();
  });
}

}  // namespace

Result<void> DiscoveryManager::start() {
  const auto& config = engine_.config();
  const auto now = Timestamp::now();
  // Our transport info: the transport's addresses, signed now (a fresh hybrid timestamp each
  // start, so it replaces whatever the peers remember of us).
  auto held = book_.info(engine_.id());
  std::optional<discovery::HybridTimestamp> previous;
  if (held && *held) previous = (*held)->timestamp;
  const auto stamp = discovery::HybridTimestamp::next(previous, now.value());
  own_info_ = discovery::sign_transport_info(engine_.key(), stamp, own_addresses());
  // Bound to a wildcard address, the addresses we are reachable at follow the interfaces.
  if (!config.transport_factory && bound_to_wildcard(engine_.transport().local_addresses())) {
    watch_interfaces();
  }
  // Bootstrap nodes first, then what earlier runs learnt: each is dialled on its own, so the
  // order only decides who is asked first, never who waits for whom.
  for (const auto& peer : config.bootstrap) {
    insert_bootstrap(peer);
  }
  if (auto known = book_.dialable()) {
    for (const auto& peer : *known) {
      if (!peer.addresses.empty()) engine_.add_peer(peer, PeerDiscovered::Via::AddressBook);
    }
  }
  // The simulated network has no multicast, and its addresses mean nothing on a real socket.
  if (config.mdns == MdnsMode::Disabled || config.transport_factory) return {};
  net::MdnsSocketConfig socket_config{mdns_interfaces(config), config.mdns_port};
  auto socket = net::MdnsSocket::open(engine_.executor(), socket_config);
  if (!socket) return Unexpected{socket.error()};
  socket_ = std::move(*socket);
  // An interface that is removed and created again (a USB adapter, a VPN, a reloaded driver)
  // comes back with a new index, and the kernel dropped our membership with the old one.
  if (socket_config.interfaces != std::vector<std::string>{"lo"}) watch_interfaces();

  auto built = build_response();
  if (!built) return built;
  query_ = mdns::make_query(mdns::kService);

  discovery::mdns::PacerConfig pacing;
  pacing.active = config.mdns == MdnsMode::Active;
  pacer_.emplace(pacing, std::random_device{}());
  timer_ = std::make_unique<asio::steady_timer>(engine_.executor());
  socket_->start([this](ByteSpan datagram) { on_datagram(datagram); });
  pacer_->start(std::chrono::steady_clock::now());
  arm();
  counters_.mdns_running.store(true);
  return {};
}

Result<void> DiscoveryManager::build_response() {
  const auto& info = *own_info_;
  mdns::Announcement self{engine_.id(), info.addresses,
                          {{std::string(mdns::kUserDataKey), discovery::to_user_data(info)}}};
  auto response = mdns::make_response(mdns::kService, self);
  if (!response) return Unexpected{response.error()};
  response_ = std::move(*response);
  return {};
}

void DiscoveryManager::watch_interfaces() {
  if (watch_) return;
  watch_ = std::make_unique<net::AddressWatch>(engine_.executor(),
                                               [this, alive = std::weak_ptr<bool>(alive_)] {
                                                 if (!alive.expired()) interfaces_changed();
                                               });
}

void DiscoveryManager::interfaces_changed() {
  if (socket_ && socket_->refresh()) {
    counters_.mdns_rejoins.fetch_add(1);
    if (pacer_) {  // new on that link as far as its peers know: announce (RFC 6762 8.3)
      pacer_->republish(std::chrono::steady_clock::now());
      arm();
    }
  }
  refresh_addresses();
}

void DiscoveryManager::refresh_addresses() {
  if (!own_info_) return;
  // As sets: one address on two interfaces is listed twice, signed once.
  auto as_set = [](std::vector<discovery::IpPort> addresses) {
    std::sort(addresses.begin(), addresses.end());
    addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
    return addresses;
  };
  auto now_addresses = as_set(own_addresses());
  if (now_addresses == as_set(own_info_->addresses)) return;
  const auto stamp =
      discovery::HybridTimestamp::next(own_info_->timestamp, Timestamp::now().value());
  own_info_ = discovery::sign_transport_info(engine_.key(), stamp, std::move(now_addresses));
  counters_.address_changes.fetch_add(1);
  engine_.own_info_changed(*own_info_);
  // RFC 6762 8.4: announce the change rather than wait for the next query.
  if (socket_ && pacer_ && build_response()) {
    pacer_->republish(std::chrono::steady_clock::now());
    arm();
  }
}

void DiscoveryManager::insert_bootstrap(const net::PeerAddress& peer) {
  (void)book_.insert_bootstrap(peer, Timestamp::now());
  engine_.add_peer(peer, PeerDiscovered::Via::Bootstrap);
}

void DiscoveryManager::record_connection(const PublicKey& node, bool success) {
  (void)book_.record_connection(node, success, Timestamp::now());
}

std::vector<discovery::IpPort> DiscoveryManager::own_addresses() const {
  // Bound to every address: every interface's, as iroh's mDNS and p2panda's transport infos
  // carry all of the endpoint's direct addresses. One signed info serves mDNS and topic
  // discovery, and the latter reaches peers beyond the LAN: signing only the mDNS interfaces'
  // addresses (loopback by default) left those peers with nothing to dial.
  std::vector<discovery::IpPort> out;
  for (const auto& address : net::reachable_addresses(engine_.transport().local_addresses())) {
    out.push_back(to_ip_port(address));
  }
  return out;
}

void DiscoveryManager::on_datagram(ByteSpan datagram) {
  counters_.mdns_bytes_received.fetch_add(datagram.size());
  auto parsed = mdns::parse(datagram, mdns::kService);
  if (!parsed || !pacer_) return;
  const auto now = std::chrono::steady_clock::now();
  if (parsed->query) pacer_->on_query(now);
  for (const auto& announcement : parsed->announcements) {
    if (announcement.node == engine_.id()) continue;  // our own, looped back
    // Nodes repeat the same announcement every few seconds: one verified before is still valid
    // (same signature over the same addresses), so neither the signature check nor the store
    // is needed again.
    auto last = last_seen_.find(announcement.node);
    if (last != last_seen_.end() && last->second == announcement) {
      pacer_->on_response(announcement.node, now);
      continue;
    }
    auto info = mdns::verified_info(announcement);
    if (!info) {
      counters_.mdns_refused.fetch_add(1);
      continue;
    }
    pacer_->on_response(announcement.node, now);
    last_seen_.insert_or_assign(announcement.node, announcement);
    auto update = book_.update(announcement.node, *info, Timestamp::now());
    const bool first = found_.insert(announcement.node).second;
    if (first) counters_.peers_found.fetch_add(1);
    if ((update && *update == discovery::InfoUpdate::Accept) || first) {
      net::PeerAddress peer{announcement.node, {}};
      for (const auto& address : info->addresses) {
        peer.addresses.push_back(to_socket_address(address));
      }
      engine_.add_peer(std::move(peer), PeerDiscovered::Via::Mdns);
    }
  }
  arm();  // a query may have scheduled a response sooner than the timer
}

void DiscoveryManager::pump() {
  if (!pacer_ || !socket_) return;
  auto due = pacer_->poll(std::chrono::steady_clock::now());
  if (due.query) {
    socket_->send(query_);
  }
  if (due.response) {
    socket_->send(response_);
  }
  counters_.mdns_bytes_sent.store(socket_->bytes_sent());  // summed over the interfaces
  arm();
}

void DiscoveryManager::arm() {
  if (!pacer_ || !timer_) return;
  auto next = pacer_->next_deadline();
  if (!next) return;
  timer_->expires_at(*next);
  timer_->async_wait([this, alive = std::weak_ptr<bool>(alive_)](asio::error_code error) {
    if (alive.expired() || error) return;
    pump();
  });
}

void DiscoveryManager::shutdown() {
  counters_.mdns_running.store(false);
  alive_.reset();
  watch_.reset();
  pacer_.reset();
  if (socket_) socket_->close();
  socket_.reset();
  timer_.reset();
}

}  // namespace p2panda::node
