// Parsing of the network arguments `node`, `sync` and `status` share: topics, peers
// (ID@HOST:PORT), listen addresses (HOST:PORT) and key files that are created when missing.
// Plain functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <p2panda/ids.hpp>
#include <p2panda/keys.hpp>

namespace p2panda::apps {

// 64 hex characters are the topic's bytes; any other text is hashed with BLAKE3 into a topic, so
// that people can share a readable name ("chat") instead of 32 random bytes.
Topic parse_topic(std::string_view text);

struct HostPort {
  std::string host;  // an IP address, without brackets for IPv6
  std::uint16_t port = 0;
  std::string to_string() const;  // "ip:port" or "[ipv6]:port"
};
// "ip:port" or "[ipv6]:port". Errors: InvalidArgument naming the text.
Result<HostPort> parse_host_port(std::string_view text);

struct PeerArg {
  NodeId id;
  HostPort address;
};
// "ID@HOST:PORT", ID the peer's public key in hex. Errors: InvalidArgument, InvalidHex.
Result<PeerArg> parse_peer(std::string_view text);

// The key in `path` (as `key generate` writes it); a missing file is created with a fresh key
// (mode 0600). Errors: Io, InvalidHex, InvalidLength.
Result<PrivateKey> load_or_create_key(const std::string& path);

}  // namespace p2panda::apps
