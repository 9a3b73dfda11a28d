// Fuzzes the QUIC receive path of a server endpoint (src/net: routing by connection id, accept,
// stateless replies, ngtcp2's packet and frame parsing, GnuTLS's ClientHello parsing): random and
// truncated datagrams, and Initial packets with mutated contents. Property: no crash, no
// sanitizer report, no leak; after each input every connection it created is closed, so memory
// it kept would show up in LeakSanitizer.
//
// Input: byte 0 chooses the mode and the sender's address; the rest depends on the mode.
//   bit 0 = 0 (raw): datagrams as [u16 big-endian length][bytes]..., up to 8; a length past the
//          end takes what is left. Mutations of captured packets mostly fail the AEAD check, so
//          this mode covers headers, routing, truncation and stateless replies.
//   bit 0 = 1 (sealed): [dcid length][id byte][u16 split][payload]: the payload is sent as the
//          plaintext frames of one client Initial (or two, split at `split`, numbered 0 and 1;
//          bit 3 sends the second first), protected with the keys of that dcid as a client would,
//          so the server decrypts it and parses the frames and the TLS ClientHello in it. Bit 4
//          leaves out the padding to 1,200 bytes (the server must then drop the datagram).
//   bits 1-2: sender: two addresses on 127.0.0.1, one on ::1, or 127.0.0.1 again.
//   bit 5: a second endpoint, which validates addresses: raw datagrams go there; sealed mode
//          first sends the first Initial without a token, takes the token from the Retry that
//          comes back and sends every part with it, so the frames reach a validated connection.
// Replies go to sockets this target binds and never reads, so nothing leaves loopback and nothing
// reaches another process's port.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include <p2panda/ids.hpp>

#include "fuzz_support.hpp"
#include "net/endpoint_impl.hpp"
#include "quic_initial.hpp"

namespace {

using namespace p2panda;
using net::SocketAddress;

constexpr std::size_t kMaxDatagrams = 8;
constexpr std::size_t kMinInitialDatagram = 1200;  // RFC 9000 14.1

struct Harness {
  asio::io_context sink_io;
  asio::ip::udp::socket sink_a{sink_io, SocketAddress(asio::ip::address_v4::loopback(), 0)};
  asio::ip::udp::socket sink_b{sink_io, SocketAddress(asio::ip::address_v4::loopback(), 0)};
  asio::ip::udp::socket sink_v6{sink_io, SocketAddress(asio::ip::address_v6::loopback(), 0)};
  std::unique_ptr<net::EndpointImpl> server = bind(false);
  std::unique_ptr<net::EndpointImpl> validating = bind(true);  // answers Initials with a Retry

  static std::unique_ptr<net::EndpointImpl> bind(bool validate_addresses) {
    net::EndpointConfig config;
    config.bind_v6 = SocketAddress(asio::ip::address_v6::loopback(), 0);
    config.validate_addresses = validate_addresses;
    auto bound = net::EndpointImpl::bind(std::move(config));
    fuzz::check(bound.has_value());
    // The ALPN the seed capture's client asks for: a real p2panda one (32 bytes, alpn.cpp's slots).
    (*bound)->register_protocol(protocol_alpn("p2panda/log_sync/v1", NetworkId::default_id()),
                                [](net::Connection) -> net::Awaitable<void> { co_return; });
    return std::move(*bound);
  }

  asio::ip::udp::socket& sink(const SocketAddress& address) {
    if (address == sink_b.local_endpoint()) return sink_b;
    if (address == sink_v6.local_endpoint()) return sink_v6;
    return sink_a;
  }

  SocketAddress sender(std::uint8_t choice) {
    switch ((choice >> 1) & 3) {
      case 1:
        return sink_b.local_endpoint();
      case 2:
        return sink_v6.local_endpoint();
      default:
        return sink_a.local_endpoint();
    }
  }
};

Harness& harness() {
  static Harness* instance = new Harness();  // never destroyed: libFuzzer exits without unwinding
  return *instance;
}

// The token and new source id of a Retry the endpoint sent to `sink`, if any; drops every other
// reply waiting there.
std::optional<std::pair<Bytes, Bytes>> take_retry(asio::ip::udp::socket& sink) {
  std::optional<std::pair<Bytes, Bytes>> retry;
  std::array<std::uint8_t, 1500> buffer{};
  sink.non_blocking(true);
  for (;;) {
    std::error_code ec;
    const std::size_t n = sink.receive(asio::buffer(buffer), 0, ec);
    if (ec) break;
    // Long header, type Retry, v1: dcid, scid, then the token and a 16-byte integrity tag.
    if (n < 7 || (buffer[0] & 0xf0) != 0xf0 || buffer[4] != 1) continue;
    std::size_t at = 6 + buffer[5];
    if (at >= n) continue;
    const std::size_t scid_length = buffer[at++];
    if (at + scid_length + 16 > n) continue;
    Bytes scid(buffer.begin() + at, buffer.begin() + at + scid_length);
    Bytes token(buffer.begin() + at + scid_length, buffer.begin() + n - 16);
    retry = std::pair{std::move(token), std::move(scid)};
  }
  return retry;
}

void feed_raw(net::EndpointImpl& server, const SocketAddress& from, ByteSpan rest) {
  for (std::size_t n = 0; n < kMaxDatagrams && rest.size() >= 2; ++n) {
    std::size_t length = (std::size_t{rest[0]} << 8) | rest[1];
    rest = rest.subspan(2);
    length = std::min(length, rest.size());
    server.receive_for_testing(from, rest.first(length));
    rest = rest.subspan(length);
  }
}

void feed_sealed(Harness& h, const SocketAddress& from, std::uint8_t mode, ByteSpan rest) {
  if (rest.size() < 4) return;
  fuzz::InitialPacket packet;
  packet.dcid.assign(rest[0] % 21, rest[1]);
  packet.scid.assign(8, static_cast<std::uint8_t>(rest[1] ^ 0x5a));
  const std::size_t split = (std::size_t{rest[2]} << 8) | rest[3];
  ByteSpan payload = rest.subspan(4);
  std::vector<ByteSpan> parts{payload};
  if (split > 0 && split < payload.size()) parts = {payload.first(split), payload.subspan(split)};
  if ((mode & 8) != 0 && parts.size() == 2) std::swap(parts[0], parts[1]);
  const bool validating = (mode & 32) != 0;
  net::EndpointImpl& server = validating ? *h.validating : *h.server;
  // Against the validating endpoint the first Initial draws a Retry; the others carry its token
  // to the new id, as a client does, so the fuzzed frames reach a validated connection.
  if (validating) {
    parts.insert(parts.begin(), parts.front());
    take_retry(h.sink(from));
  }
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (validating && i == 1) {
      auto retry = take_retry(h.sink(from));
      if (!retry) return;
      packet.token = std::move(retry->first);
      packet.dcid = std::move(retry->second);
    }
    packet.packet_number = static_cast<std::uint32_t>((mode & 8) != 0 ? parts.size() - 1 - i : i);
    packet.payload.assign(parts[i].begin(), parts[i].end());
    // PADDING frames (zero bytes) up to a full-sized datagram, or the 2 bytes the header
    // protection sample needs.
    const std::size_t overhead = 7 + packet.dcid.size() + packet.scid.size() +
                                 packet.token.size() + (packet.token.size() < 64 ? 1 : 2) + 4 + 16;
    std::size_t want = 2;
    if ((mode & 16) == 0 && overhead < kMinInitialDatagram) want = kMinInitialDatagram - overhead;
    if (packet.payload.size() < want) packet.payload.resize(want, 0);
    Bytes datagram = fuzz::seal_initial(packet);
    server.receive_for_testing(from, datagram);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  Harness& h = harness();
  const std::uint8_t mode = data[0];
  const SocketAddress from = h.sender(mode);
  ByteSpan rest(data + 1, size - 1);
  if ((mode & 1) == 0) {
    feed_raw((mode & 32) != 0 ? *h.validating : *h.server, from, rest);
  } else {
    feed_sealed(h, from, mode, rest);
  }
  h.server->close_all_for_testing();
  h.validating->close_all_for_testing();
  return 0;
}
