#include "discovery/transport_info_wire.hpp"

#include <algorithm>
#include <string>

#include "core/try.hpp"

namespace p2panda::discovery {
namespace {

// Variant indices, in declaration order: p2panda's TransportAddress {Iroh}, iroh-base 1.0's
// TransportAddr {Relay, Ip, Custom}, std's SocketAddr {V4, V6}.
constexpr std::uint64_t kIroh = 0;
constexpr std::uint64_t kRelay = 0;
constexpr std::uint64_t kIp = 1;
constexpr std::uint64_t kCustom = 2;
constexpr std::uint64_t kV4 = 0;
constexpr std::uint64_t kV6 = 1;

Unexpected error(Errc code, std::size_t at, const std::string& what) {
  return fail(code, "transport info: " + what + " at offset " + std::to_string(at));
}

Result<IpPort> read_ip(postcard::Reader& reader) {
  const std::size_t at = reader.offset();
  P2PANDA_TRY(family, reader.varint());
  IpPort address;
  if (family == kV4) {
    P2PANDA_TRY(octets, reader.raw(4));
    dns::V4 v4;
    std::copy(octets.begin(), octets.end(), v4.begin());
    address.ip = v4;
  } else if (family == kV6) {
    P2PANDA_TRY(octets, reader.raw(16));
    dns::V6 v6;
    std::copy(octets.begin(), octets.end(), v6.begin());
    address.ip = v6;
  } else {
    return error(Errc::PostcardInvalidValue, at, "unknown SocketAddr variant");
  }
  P2PANDA_TRY(port, reader.varint(0xffff));
  address.port = static_cast<std::uint16_t>(port);
  return address;
}

Result<std::string> read_relay(postcard::Reader& reader, const TransportInfoLimits& limits) {
  const std::size_t at = reader.offset();
  P2PANDA_TRY(url, reader.bytes());
  if (url.empty() || url.size() > limits.max_relay_url_bytes) {
    return error(Errc::PostcardInvalidValue, at, "relay url of " + std::to_string(url.size()) +
                                                     " bytes");
  }
  // iroh writes a parsed URL, which is always ASCII (percent-encoded, punycode hosts).
  if (!std::all_of(url.begin(), url.end(), [](std::uint8_t c) { return c > 0x20 && c < 0x7f; })) {
    return error(Errc::PostcardInvalidValue, at, "relay url is not printable ASCII");
  }
  return std::string(url.begin(), url.end());
}

}  // namespace

void write_transport_info(postcard::Writer& writer, const PublicKey& node,
                          const TransportInfo& info) {
  writer.varint(info.timestamp.micros).varint(info.timestamp.lamport);
  writer.bytes(info.signature.bytes());
  writer.varint(1).varint(kIroh).raw(node.bytes());
  writer.varint(info.addresses.size() + (info.relay_url ? 1 : 0));
  if (info.relay_url) writer.varint(kRelay).text(*info.relay_url);
  for (const auto& address : info.addresses) {
    writer.varint(kIp);
    std::visit([&](const auto& ip) { writer.varint(ip.size() == 4 ? kV4 : kV6).raw(ip); },
               address.ip);
    writer.varint(address.port);
  }
}

Result<TransportInfo> read_transport_info(postcard::Reader& reader, const PublicKey& node,
                                          const TransportInfoLimits& limits) {
  TransportInfo info;
  P2PANDA_TRY(micros, reader.varint());
  P2PANDA_TRY(lamport, reader.varint());
  info.timestamp = {micros, lamport};
  std::size_t at = reader.offset();
  P2PANDA_TRY(signature, reader.bytes());
  if (signature.size() != Signature::kSize) {
    return error(Errc::PostcardInvalidValue, at, "signature of " +
                                                     std::to_string(signature.size()) + " bytes");
  }
  info.signature = *Signature::from_bytes(signature);
  at = reader.offset();
  P2PANDA_TRY(transports, reader.varint());
  if (transports != 1) {
    return error(Errc::PostcardInvalidValue, at,
                 std::to_string(transports) + " transport addresses, expected one (iroh)");
  }
  at = reader.offset();
  P2PANDA_TRY(kind, reader.varint());
  if (kind != kIroh) return error(Errc::PostcardInvalidValue, at, "unknown transport kind");
  at = reader.offset();
  P2PANDA_TRY(id, reader.raw(32));
  if (!std::equal(id.begin(), id.end(), node.bytes().begin())) {
    return error(Errc::PostcardInvalidValue, at, "endpoint id is not the node's id");
  }
  const std::size_t addrs_at = reader.offset();
  P2PANDA_TRY(count, reader.varint());
  if (count > limits.max_addresses + 1) {
    return error(Errc::PostcardInvalidValue, addrs_at,
                 std::to_string(count) + " addresses exceed the limit of " +
                     std::to_string(limits.max_addresses));
  }
  for (std::uint64_t i = 0; i < count; ++i) {
    at = reader.offset();
    P2PANDA_TRY(variant, reader.varint());
    if (variant == kRelay) {
      if (info.relay_url) return error(Errc::PostcardInvalidValue, at, "a second relay url");
      P2PANDA_TRY(url, read_relay(reader, limits));
      info.relay_url = std::move(url);
    } else if (variant == kIp) {
      if (info.addresses.size() == limits.max_addresses) {
        return error(Errc::PostcardInvalidValue, at, "more IP addresses than the limit");
      }
      P2PANDA_TRY(address, read_ip(reader));
      info.addresses.push_back(address);
    } else if (variant == kCustom) {
      return error(Errc::PostcardInvalidValue, at, "custom transport addresses are not supported");
    } else {
      return error(Errc::PostcardInvalidValue, at, "unknown TransportAddr variant");
    }
  }
  // serde's BTreeSet takes any order and merges repeats; we sort too, but refuse a repeat (as we
  // do repeated topics) so that what we read re-encodes to as many bytes.
  std::sort(info.addresses.begin(), info.addresses.end());
  if (std::adjacent_find(info.addresses.begin(), info.addresses.end()) != info.addresses.end()) {
    return error(Errc::PostcardInvalidValue, addrs_at, "a repeated address");
  }
  return info;
}

}  // namespace p2panda::discovery
