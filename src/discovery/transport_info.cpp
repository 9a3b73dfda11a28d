#include "discovery/transport_info.hpp"

#include <algorithm>
#include <charconv>

#include "core/cbor.hpp"

namespace p2panda::discovery {
namespace {

void normalise(std::vector<IpPort>& addresses) {
  std::sort(addresses.begin(), addresses.end());
  addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
}

ByteSpan ip_bytes(const IpPort& address) {
  return std::visit([](const auto& ip) { return ByteSpan(ip.data(), ip.size()); }, address.ip);
}

Result<std::uint64_t> parse_u64(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    return fail(Errc::InvalidArgument, "not a number: \"" + std::string(text) + "\"");
  }
  return value;
}

}  // namespace

HybridTimestamp HybridTimestamp::next(const std::optional<HybridTimestamp>& previous,
                                      std::uint64_t now_micros) {
  if (!previous || now_micros > previous->micros) return {now_micros, 0};
  return {previous->micros, previous->lamport + 1};
}

std::string IpPort::to_string() const {
  std::string out;
  if (auto* v4 = std::get_if<dns::V4>(&ip)) {
    for (int i = 0; i < 4; ++i) out += (i ? "." : "") + std::to_string((*v4)[i]);
  } else {
    const auto& v6 = std::get<dns::V6>(ip);
    out = "[";
    static const char* kHex = "0123456789abcdef";
    for (int i = 0; i < 16; i += 2) {
      if (i) out += ':';
      const unsigned group = (v6[i] << 8) | v6[i + 1];
      bool started = false;
      for (int shift = 12; shift >= 0; shift -= 4) {
        const unsigned digit = (group >> shift) & 0xf;
        if (digit || started || shift == 0) {
          out += kHex[digit];
          started = true;
        }
      }
    }
    out += "]";
  }
  return out + ":" + std::to_string(port);
}

// serde through ciborium, which is not human-readable: a struct is a map keyed by field names, an
// enum variant with a value a one-entry map {"Variant": value}, a [u8; N] a CBOR array of N
// integers (not a byte string), SocketAddr the variant V4 or V6 of [octets, port]. iroh-base 1.0
// declares TransportAddr's variants Relay, Ip, Custom, so a relay sorts before every IP address.
Bytes signed_bytes(const PublicKey& node, const HybridTimestamp& timestamp,
                   std::vector<IpPort> addresses, const std::optional<std::string>& relay_url) {
  normalise(addresses);
  cbor::Writer out;
  out.map(2).text("timestamp").array(2).uint(timestamp.micros).uint(timestamp.lamport);
  out.text("addresses").array(1).map(1).text("Iroh").map(2).text("id").array(32);
  for (const auto byte : node.bytes()) out.uint(byte);
  out.text("addrs").array(addresses.size() + (relay_url ? 1 : 0));
  if (relay_url) out.map(1).text("Relay").text(*relay_url);
  for (const auto& address : addresses) {
    const auto ip = ip_bytes(address);
    out.map(1).text("Ip").map(1).text(ip.size() == 4 ? "V4" : "V6").array(2).array(ip.size());
    for (const auto byte : ip) out.uint(byte);
    out.uint(address.port);
  }
  return std::move(out).take();
}

TransportInfo sign_transport_info(const PrivateKey& key, const HybridTimestamp& timestamp,
                                  std::vector<IpPort> addresses,
                                  std::optional<std::string> relay_url) {
  normalise(addresses);
  TransportInfo info{timestamp, addresses, std::move(relay_url), {}};
  info.signature = key.sign(signed_bytes(key.public_key(), timestamp, info.addresses,
                                         info.relay_url));
  return info;
}

Result<void> verify_transport_info(const PublicKey& node, const TransportInfo& info) {
  return node.verify(signed_bytes(node, info.timestamp, info.addresses, info.relay_url),
                     info.signature);
}

std::string to_user_data(const TransportInfo& info) {
  std::string out = info.signature.to_hex() + "|" + std::to_string(info.timestamp.micros) + "/" +
                    std::to_string(info.timestamp.lamport);
  if (info.relay_url) out += "|" + *info.relay_url;
  return out;
}

Result<UserData> parse_user_data(std::string_view text) {
  const auto bar = text.find('|');
  if (bar == std::string_view::npos) return fail(Errc::InvalidArgument, "user data: no '|'");
  auto signature = Signature::from_hex(text.substr(0, bar));
  if (!signature) return Unexpected{signature.error()};
  auto rest = text.substr(bar + 1);
  std::optional<std::string> relay_url;
  if (const auto second = rest.find('|'); second != std::string_view::npos) {
    relay_url = std::string(rest.substr(second + 1));
    rest = rest.substr(0, second);
    // p2panda splits on every '|' and accepts two or three parts; a URL cannot hold a bare '|'.
    if (relay_url->empty() || relay_url->find('|') != std::string::npos) {
      return fail(Errc::InvalidArgument, "user data: bad relay url part");
    }
  }
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) return fail(Errc::InvalidArgument, "user data: no '/'");
  auto micros = parse_u64(rest.substr(0, slash));
  if (!micros) return Unexpected{micros.error()};
  auto lamport = parse_u64(rest.substr(slash + 1));
  if (!lamport) return Unexpected{lamport.error()};
  return UserData{*signature, {*micros, *lamport}, std::move(relay_url)};
}

Bytes encode_transport_info(const TransportInfo& info) {
  cbor::Writer out;
  out.array(info.relay_url ? 4 : 3).array(2).uint(info.timestamp.micros);
  out.uint(info.timestamp.lamport).bytes(info.signature.bytes()).array(info.addresses.size());
  for (const auto& address : info.addresses) {
    out.array(2).bytes(ip_bytes(address)).uint(address.port);
  }
  if (info.relay_url) out.text(*info.relay_url);
  return std::move(out).take();
}

Result<TransportInfo> decode_transport_info(ByteSpan bytes) {
  auto shape = [](bool ok) -> Result<void> {
    if (!ok) return fail(Errc::InvalidArgument, "transport info: unexpected shape");
    return {};
  };
  cbor::Reader in(bytes);
  TransportInfo info;
  auto outer = in.read_array();
  if (!outer) return Unexpected{outer.error()};
  auto stamp = in.read_array();
  if (!stamp) return Unexpected{stamp.error()};
  if (auto ok = shape((*outer == 3 || *outer == 4) && *stamp == 2); !ok) {
    return Unexpected{ok.error()};
  }
  auto micros = in.read_uint();
  if (!micros) return Unexpected{micros.error()};
  auto lamport = in.read_uint();
  if (!lamport) return Unexpected{lamport.error()};
  info.timestamp = {*micros, *lamport};
  auto signature = in.read_bytes();
  if (!signature) return Unexpected{signature.error()};
  auto parsed = Signature::from_bytes(*signature);
  if (!parsed) return Unexpected{parsed.error()};
  info.signature = *parsed;
  auto count = in.read_array();
  if (!count) return Unexpected{count.error()};
  if (*count > in.remaining()) return fail(Errc::InvalidArgument, "transport info: bad count");
  for (std::uint64_t i = 0; i < *count; ++i) {
    auto pair = in.read_array();
    if (!pair) return Unexpected{pair.error()};
    auto ip = in.read_bytes();
    if (!ip) return Unexpected{ip.error()};
    auto port = in.read_uint();
    if (!port) return Unexpected{port.error()};
    if (auto ok = shape(*pair == 2 && (ip->size() == 4 || ip->size() == 16) && *port <= 0xffff);
        !ok) {
      return Unexpected{ok.error()};
    }
    IpPort address;
    address.port = static_cast<std::uint16_t>(*port);
    if (ip->size() == 4) {
      dns::V4 v4;
      std::copy(ip->begin(), ip->end(), v4.begin());
      address.ip = v4;
    } else {
      dns::V6 v6;
      std::copy(ip->begin(), ip->end(), v6.begin());
      address.ip = v6;
    }
    info.addresses.push_back(address);
  }
  if (*outer == 4) {
    auto relay = in.read_text();
    if (!relay) return Unexpected{relay.error()};
    info.relay_url = std::string(*relay);
  }
  if (auto end = in.expect_end(); !end) return Unexpected{end.error()};
  return info;
}

InfoUpdate decide_update(const PublicKey& node, const std::optional<TransportInfo>& current,
                         const TransportInfo& incoming) {
  if (!verify_transport_info(node, incoming)) return InfoUpdate::Invalid;
  if (current && !(incoming.timestamp > current->timestamp)) return InfoUpdate::Older;
  return InfoUpdate::Accept;
}

}  // namespace p2panda::discovery
