// mDNS service discovery in the form iroh's mDNS address lookup (swarm-discovery) and p2panda
// use: queries ask for PTR `_<service>._udp.local.`; a response carries, for one node, SRV
// `<id>._<service>._udp.local.` -> `<id>-<port>.local.` per port, A/AAAA records for that target
// and a TXT record of `key=value` attributes (p2panda puts its signed transport info under
// `user-data`). <id> is the node id in lowercase RFC 4648 base32 without padding. Records carry
// TTL 0, as swarm-discovery sends them. Details and sources: docs/discovery.md, "mDNS".
// Pure functions on plain values: any thread.
#pragma once

#include <map>
#include <optional>
#include <p2panda/keys.hpp>
#include <string>

#include "discovery/dns.hpp"
#include "discovery/transport_info.hpp"

namespace p2panda::discovery::mdns {

inline constexpr std::string_view kService = "p2pandav1";
inline constexpr std::uint16_t kPort = 5353;
inline constexpr dns::V4 kGroupV4{224, 0, 0, 251};
inline constexpr std::string_view kUserDataKey = "user-data";

// `_<service>._udp.local`
dns::Name service_name(std::string_view service);

// One node as a response describes it.
struct Announcement {
  PublicKey node;
  std::vector<IpPort> addresses;                          // sorted
  std::map<std::string, std::optional<std::string>> txt;  // attributes without '=' map to nullopt
  friend bool operator==(const Announcement&, const Announcement&) = default;
};

Bytes make_query(std::string_view service);
// Errors: InvalidArgument when a TXT attribute is over 255 bytes or the message too long.
Result<Bytes> make_response(std::string_view service, const Announcement& self);

// What one datagram said about `service`: whether it asked for it, and the nodes it announced.
// Records for other services, and names whose first label is not a node id, are ignored.
struct Parsed {
  bool query = false;
  std::vector<Announcement> announcements;
};
// Errors: those of dns::decode.
Result<Parsed> parse(ByteSpan datagram, std::string_view service);

// The signed transport info an announcement carries in its user-data attribute, checked against
// its addresses. Errors: InvalidArgument (no user data), parse_user_data's, SignatureInvalid.
Result<TransportInfo> verified_info(const Announcement& announcement);

}  // namespace p2panda::discovery::mdns
