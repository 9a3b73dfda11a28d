#include "node/address_book.hpp"

#include <algorithm>

namespace p2panda::node {

discovery::IpPort to_ip_port(const net::SocketAddress& address) {
  discovery::IpPort out;
  out.port = address.port();
  if (address.address().is_v4()) {
    out.ip = address.address().to_v4().to_bytes();
  } else {
    out.ip = address.address().to_v6().to_bytes();
  }
  return out;
}

net::SocketAddress to_socket_address(const discovery::IpPort& address) {
  if (auto* v4 = std::get_if<discovery::dns::V4>(&address.ip)) {
    return {asio::ip::address_v4(*v4), address.port};
  }
  return {asio::ip::address_v6(std::get<discovery::dns::V6>(address.ip)), address.port};
}

bool is_stale(const store::NodeRecord& record) {
  if (record.bootstrap || !record.last_failure) return false;
  return !record.last_success || *record.last_success < *record.last_failure;
}

Result<void> AddressBook::insert_bootstrap(const net::PeerAddress& peer, Timestamp now) {
  discovery::TransportInfo trusted{{now.value(), 0}, {}, std::nullopt, Signature{}};
  for (const auto& address : peer.addresses) trusted.addresses.push_back(to_ip_port(address));
  std::sort(trusted.addresses.begin(), trusted.addresses.end());
  return store_.transact([&](store::StoreWriter& writer) -> Result<void> {
    auto existing = writer.node(peer.node_id);
    if (!existing) return Unexpected{existing.error()};
    if (*existing) {
      auto held = discovery::decode_transport_info((*existing)->info);
      if (held && held->timestamp > trusted.timestamp) {
        return writer.upsert_node(peer.node_id, (*existing)->info, true, now);
      }
    }
    return writer.upsert_node(peer.node_id, discovery::encode_transport_info(trusted), true, now);
  });
}

Result<discovery::InfoUpdate> AddressBook::update(const PublicKey& node,
                                                  const discovery::TransportInfo& info,
                                                  Timestamp now) {
  return store_.transact([&](store::StoreWriter& writer) -> Result<discovery::InfoUpdate> {
    auto existing = writer.node(node);
    if (!existing) return Unexpected{existing.error()};
    std::optional<discovery::TransportInfo> held;
    if (*existing) {
      auto decoded = discovery::decode_transport_info((*existing)->info);
      if (decoded) held = std::move(*decoded);  // an unreadable row is simply replaced
    }
    const auto decision = discovery::decide_update(node, held, info);
    if (decision != discovery::InfoUpdate::Accept) return decision;
    const bool bootstrap = *existing && (*existing)->bootstrap;
    auto written = writer.upsert_node(node, discovery::encode_transport_info(info), bootstrap, now);
    if (!written) return Unexpected{written.error()};
    return decision;
  });
}

Result<void> AddressBook::record_connection(const PublicKey& node, bool success, Timestamp at) {
  return store_.transact([&](store::StoreWriter& writer) -> Result<void> {
    return writer.record_connection(node, success, at);
  });
}

Result<std::optional<discovery::TransportInfo>> AddressBook::info(const PublicKey& node) {
  auto record = store_.query([&](store::StoreReader& reader) { return reader.node(node); });
  if (!record) return Unexpected{record.error()};
  if (!*record) return std::optional<discovery::TransportInfo>{};
  auto decoded = discovery::decode_transport_info((*record)->info);
  if (!decoded) return Unexpected{decoded.error()};
  return std::optional<discovery::TransportInfo>(std::move(*decoded));
}

Result<std::vector<net::PeerAddress>> AddressBook::dialable() {
  auto records = store_.query([](store::StoreReader& reader) { return reader.all_nodes(); });
  if (!records) return Unexpected{records.error()};
  std::stable_partition(records->begin(), records->end(),
                        [](const store::NodeRecord& record) { return record.bootstrap; });
  std::vector<net::PeerAddress> out;
  for (const auto& record : *records) {
    if (is_stale(record)) continue;
    auto info = discovery::decode_transport_info(record.info);
    if (!info) continue;
    net::PeerAddress peer{record.node_id, {}};
    for (const auto& address : info->addresses)
      peer.addresses.push_back(to_socket_address(address));
    out.push_back(std::move(peer));
  }
  return out;
}

Result<void> AddressBook::set_topics(const PublicKey& node, std::span<const Topic> topics) {
  return store_.transact([&](store::StoreWriter& writer) -> Result<void> {
    auto existing = writer.node(node);
    if (!existing) return Unexpected{existing.error()};
    if (!*existing) return {};  // topics hang off a node row (foreign key)
    return writer.set_node_topics(node, topics);
  });
}

Result<std::map<PublicKey, discovery::TransportInfo>> AddressBook::signed_infos_for(
    const std::set<Topic>& topics, const std::set<PublicKey>& except, std::size_t limit) {
  std::map<PublicKey, discovery::TransportInfo> out;
  for (const auto& topic : topics) {
    auto records =
        store_.query([&](store::StoreReader& reader) { return reader.nodes_for_topic(topic); });
    if (!records) return Unexpected{records.error()};
    for (const auto& record : *records) {
      if (out.size() >= limit) return out;
      if (except.contains(record.node_id) || out.contains(record.node_id) || is_stale(record)) {
        continue;
      }
      auto info = discovery::decode_transport_info(record.info);
      // Trusted bootstrap infos carry no signature and are never passed on.
      if (!info || !discovery::verify_transport_info(record.node_id, *info)) continue;
      out.emplace(record.node_id, std::move(*info));
    }
  }
  return out;
}

}  // namespace p2panda::node
