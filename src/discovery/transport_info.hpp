// TransportInfo: a node's signed statement of where it can be reached (p2panda-net's
// AuthenticatedTransportInfo: hybrid timestamp, direct addresses, Ed25519 signature by the node),
// its text form in mDNS TXT "user-data" (p2panda's UserDataTransportInfo), its storage form in
// the address book, and the last-write-wins rule for replacing one with another.
// Formats and sources: docs/discovery.md, "Address book". Pure functions on plain values: any
// thread.
#pragma once

#include <compare>
#include <optional>
#include <p2panda/keys.hpp>
#include <string>
#include <vector>

#include "discovery/dns.hpp"

namespace p2panda::discovery {

// p2panda-core's HybridTimestamp: wall clock in microseconds, then a Lamport counter; ordered
// lexicographically. Text form "<micros>/<lamport>".
struct HybridTimestamp {
  std::uint64_t micros = 0;
  std::uint64_t lamport = 0;
  friend auto operator<=>(const HybridTimestamp&, const HybridTimestamp&) = default;
  // A timestamp after both `previous` and `now_micros`: ours must always move forward, even when
  // the wall clock went back.
  static HybridTimestamp next(const std::optional<HybridTimestamp>& previous,
                              std::uint64_t now_micros);
};

// An IPv4 or IPv6 address and a port, without asio (this library builds without src/net).
struct IpPort {
  std::variant<dns::V4, dns::V6> ip;
  std::uint16_t port = 0;
  friend auto operator<=>(const IpPort&, const IpPort&) = default;
  std::string to_string() const;  // "1.2.3.4:5" or "[::1]:5"
};

struct TransportInfo {
  HybridTimestamp timestamp;
  std::vector<IpPort> addresses;  // sorted, no duplicates
  // The node's home relay as iroh writes it (a URL). We run no relays yet, so ours is always
  // empty; a p2panda node's may be set, and it is part of what that node signed.
  std::optional<std::string> relay_url;
  Signature signature;
  friend bool operator==(const TransportInfo&, const TransportInfo&) = default;
};

// The bytes the signature covers: p2panda's UnsignedTransportInfo{timestamp, addresses:
// [Iroh(EndpointAddr{id: node, addrs: {Relay(url)?, Ip(address)...}})]} as ciborium (serde,
// not human-readable) writes it. Addresses are sorted and de-duplicated first, as iroh's BTreeSet
// holds them. Layout and a worked example: docs/discovery.md, "Signed bytes".
Bytes signed_bytes(const PublicKey& node, const HybridTimestamp& timestamp,
                   std::vector<IpPort> addresses,
                   const std::optional<std::string>& relay_url = std::nullopt);
TransportInfo sign_transport_info(const PrivateKey& key, const HybridTimestamp& timestamp,
                                  std::vector<IpPort> addresses,
                                  std::optional<std::string> relay_url = std::nullopt);
// Errors: SignatureInvalid when `info` was not signed by `node` (or its addresses changed).
Result<void> verify_transport_info(const PublicKey& node, const TransportInfo& info);

// mDNS TXT user data, as p2panda writes it: "<signature hex>|<micros>/<lamport>", then
// "|<relay url>" when the node has a home relay (mDNS records carry no relay, and the relay is
// part of the signed bytes).
std::string to_user_data(const TransportInfo& info);
struct UserData {
  Signature signature;
  HybridTimestamp timestamp;
  std::optional<std::string> relay_url;
};
// Errors: InvalidArgument (wrong number of parts, a bad number), InvalidHex / InvalidLength (the
// signature).
Result<UserData> parse_user_data(std::string_view text);

// Storage form (address book rows): CBOR [[micros, lamport], signature, [[ip, port], ...]], then
// the relay url as a fourth element when there is one (rows written before relays were
// kept have three elements and still decode).
Bytes encode_transport_info(const TransportInfo& info);
// Errors: Cbor*, InvalidArgument (shape), InvalidLength.
Result<TransportInfo> decode_transport_info(ByteSpan bytes);

// Last write wins: what to do with `incoming` for `node` given what we hold.
enum class InfoUpdate { Accept, Older, Invalid };
InfoUpdate decide_update(const PublicKey& node, const std::optional<TransportInfo>& current,
                         const TransportInfo& incoming);

}  // namespace p2panda::discovery
