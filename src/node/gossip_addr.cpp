#include "node/gossip_addr.hpp"

#include <algorithm>

#include "core/postcard.hpp"

namespace p2panda::node {
namespace {

// Rust orders SocketAddr as V4 < V6, then by ip octets, then by port.
bool rust_less(const asio::ip::udp::endpoint& a, const asio::ip::udp::endpoint& b) {
  const bool a6 = a.address().is_v6(), b6 = b.address().is_v6();
  if (a6 != b6) return !a6;
  if (a.address() != b.address()) return a.address() < b.address();
  return a.port() < b.port();
}

}  // namespace

Bytes encode_addr_info(GossipAddrInfo info) {
  auto& addresses = info.direct_addresses;
  std::sort(addresses.begin(), addresses.end(), rust_less);
  addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
  postcard::Writer writer;
  if (info.relay_url) {
    writer.u8(1).text(*info.relay_url);
  } else {
    writer.u8(0);
  }
  writer.varint(addresses.size());
  for (const auto& address : addresses) {
    if (address.address().is_v4()) {
      auto octets = address.address().to_v4().to_bytes();
      writer.varint(0).raw(ByteSpan(octets.data(), octets.size()));
    } else {
      auto octets = address.address().to_v6().to_bytes();
      writer.varint(1).raw(ByteSpan(octets.data(), octets.size()));
    }
    writer.varint(address.port());
  }
  return std::move(writer).take();
}

Result<GossipAddrInfo> decode_addr_info(ByteSpan bytes) {
  GossipAddrInfo info;
  if (bytes.empty()) return info;
  postcard::Reader reader(bytes);
  auto tag = reader.boolean();  // an Option tag has the same two values as a bool
  if (!tag) return Unexpected{std::move(tag).error()};
  if (*tag) {
    auto url = reader.bytes();
    if (!url) return Unexpected{std::move(url).error()};
    info.relay_url = std::string(url->begin(), url->end());
  }
  auto count = reader.varint();
  if (!count) return Unexpected{std::move(count).error()};
  // Each address takes at least 6 bytes: refuse a count the input cannot hold before reserving.
  const std::size_t left = bytes.size() - reader.offset();
  if (*count > left / 6) {
    return fail(Errc::PostcardTruncated, "AddrInfo: " + std::to_string(*count) +
                                             " addresses announced at offset " +
                                             std::to_string(reader.offset()) + ", input too short");
  }
  for (std::uint64_t i = 0; i < *count; ++i) {
    auto kind = reader.varint(1);
    if (!kind) return Unexpected{std::move(kind).error()};
    asio::ip::address ip;
    if (*kind == 0) {
      auto raw = reader.raw(4);
      if (!raw) return Unexpected{std::move(raw).error()};
      asio::ip::address_v4::bytes_type octets{};
      std::copy(raw->begin(), raw->end(), octets.begin());
      ip = asio::ip::address_v4(octets);
    } else {
      auto raw = reader.raw(16);
      if (!raw) return Unexpected{std::move(raw).error()};
      asio::ip::address_v6::bytes_type octets{};
      std::copy(raw->begin(), raw->end(), octets.begin());
      ip = asio::ip::address_v6(octets);
    }
    auto port = reader.varint(0xFFFF);
    if (!port) return Unexpected{std::move(port).error()};
    info.direct_addresses.emplace_back(ip, static_cast<std::uint16_t>(*port));
  }
  auto end = reader.expect_end();
  if (!end) return Unexpected{std::move(end).error()};
  return info;
}

}  // namespace p2panda::node
