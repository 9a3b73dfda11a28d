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
// Replies go to sockets this target binds and never reads, so nothing leaves loopback and nothing
// reaches another process's port.
#include <cstddef>
#include <cstdint>
#include <memory>

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
  std::unique_ptr<net::EndpointImpl> server;

  Harness() {
    net::EndpointConfig config;
    config.bind_v6 = SocketAddress(asio::ip::address_v6::loopback(), 0);
    auto bound = net::EndpointImpl::bind(std::move(config));
    fuzz::check(bound.has_value());
    server = std::move(*bound);
    // The ALPN the seed capture's client asks for: a real p2panda one (32 bytes, alpn.cpp's slots).
    server->register_protocol(protocol_alpn("p2panda/log_sync/v1", NetworkId::default_id()),
                              [](net::Connection) -> net::Awaitable<void> { co_return; });
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

void feed_raw(Harness& h, const SocketAddress& from, ByteSpan rest) {
  for (std::size_t n = 0; n < kMaxDatagrams && rest.size() >= 2; ++n) {
    std::size_t length = (std::size_t{rest[0]} << 8) | rest[1];
    rest = rest.subspan(2);
    length = std::min(length, rest.size());
    h.server->receive_for_testing(from, rest.first(length));
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
  for (std::size_t i = 0; i < parts.size(); ++i) {
    packet.packet_number = static_cast<std::uint32_t>((mode & 8) != 0 ? parts.size() - 1 - i : i);
    packet.payload.assign(parts[i].begin(), parts[i].end());
    // PADDING frames (zero bytes) up to a full-sized datagram, or the 2 bytes the header
    // protection sample needs.
    const std::size_t overhead = 7 + packet.dcid.size() + packet.scid.size() + 1 + 4 + 16;
    std::size_t want = 2;
    if ((mode & 16) == 0 && overhead < kMinInitialDatagram) want = kMinInitialDatagram - overhead;
    if (packet.payload.size() < want) packet.payload.resize(want, 0);
    Bytes datagram = fuzz::seal_initial(packet);
    h.server->receive_for_testing(from, datagram);
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
    feed_raw(h, from, rest);
  } else {
    feed_sealed(h, from, mode, rest);
  }
  h.server->close_all_for_testing();
  return 0;
}
