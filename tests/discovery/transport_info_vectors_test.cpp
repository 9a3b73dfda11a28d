// Byte vectors for the two serde forms of a signed transport info that cross implementations:
// the CBOR that the signature covers (ciborium) and the postcard that discovery's Nodes message
// carries. Derived by hand from the serde rules in docs/discovery.md ("Signed bytes", "Transport
// infos on the wire"), not from our encoder.
#include <gtest/gtest.h>

#include "core/postcard.hpp"
#include "discovery/messages.hpp"
#include "discovery/transport_info.hpp"
#include "discovery/transport_info_wire.hpp"

namespace p2panda::discovery {
namespace {

Bytes hex(const std::string& text) { return from_hex(text).value(); }

std::string rep(const std::string& byte_hex, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += byte_hex;
  return out;
}

// A node id whose i-th byte is i: CBOR writes 0..23 in one byte and 24..31 as 18 xx.
PublicKey counting_id() {
  std::array<std::uint8_t, 32> bytes{};
  for (int i = 0; i < 32; ++i) bytes[i] = static_cast<std::uint8_t>(i);
  return PublicKey(bytes);
}

std::string counting_id_cbor() {
  std::string out = "9820";  // array(32)
  for (int i = 0; i < 32; ++i) {
    char buf[8];
    std::snprintf(buf, sizeof buf, i < 24 ? "%02x" : "18%02x", i);
    out += buf;
  }
  return out;
}

const HybridTimestamp kStamp{1700000000000000, 3};
const std::string kRelay = "https://relay.example/";
dns::V6 loopback6() {
  dns::V6 v6{};
  v6[15] = 1;
  return v6;
}
// Out of order on purpose: iroh keeps them in a BTreeSet (V4 before V6, then octets, then port).
std::vector<IpPort> addresses() {
  return {IpPort{loopback6(), 4433}, IpPort{dns::V4{192, 168, 1, 20}, 2022},
          IpPort{dns::V4{10, 0, 0, 1}, 9}};
}

TEST(TransportInfoVectors, SignedBytesAreCiboriumsFormOfUnsignedTransportInfo) {
  const std::string expected =
      "a2"                                      // UnsignedTransportInfo: map(2)
      "6974696d657374616d70"                    // "timestamp"
      "82" "1b00060a24181e4000" "03"            // HybridTimestamp(µs, lamport): array(2)
      "69616464726573736573"                    // "addresses"
      "81"                                      // Vec<TransportAddress>: one
      "a1" "6449726f68"                         // {"Iroh": EndpointAddr}
      "a2" "626964" + counting_id_cbor() +      // "id": [u8; 32] as 32 integers
      "656164647273" "84"                       // "addrs": BTreeSet of 4
      "a1" "6552656c6179" "76" "68747470733a2f2f72656c61792e6578616d706c652f"  // Relay(url)
      "a1" "624970" "a1" "625634" "82" "840a000001" "09"                      // 10.0.0.1:9
      "a1" "624970" "a1" "625634" "82" "8418c018a80114" "1907e6"              // 192.168.1.20:2022
      "a1" "624970" "a1" "625636" "82" "90" + rep("00", 15) + "01" "191151";  // [::1]:4433
  EXPECT_EQ(to_hex(signed_bytes(counting_id(), kStamp, addresses(), kRelay)), expected);
}

TEST(TransportInfoVectors, SignedBytesWithoutRelay) {
  const std::string expected =
      "a2" "6974696d657374616d70" "82" "1b00060a24181e4000" "03" "69616464726573736573" "81"
      "a1" "6449726f68"
      "a2" "626964" + counting_id_cbor() + "656164647273" "81"
      "a1" "624970" "a1" "625634" "82" "84187f000001" "190fa0";  // 127.0.0.1:4000
  EXPECT_EQ(to_hex(signed_bytes(counting_id(), kStamp, {IpPort{dns::V4{127, 0, 0, 1}, 4000}})),
            expected);
}

std::string wire_hex() {
  return "8080f9c0c1c48203" "03"        // timestamp: varint µs, varint lamport
         "40" + rep("ab", 64) +         // signature: serde bytes
         "01" "00" +                    // Vec of one TransportAddress::Iroh
         to_hex(counting_id().bytes()) +  // EndpointAddr.id: 32 raw bytes
         "04"                           // addrs: 4
         "00" "16" "68747470733a2f2f72656c61792e6578616d706c652f"  // Relay(url)
         "01" "00" "0a000001" "09"      // Ip(V4(10.0.0.1, 9))
         "01" "00" "c0a80114" "e60f"    // Ip(V4(192.168.1.20, 2022))
         "01" "01" + rep("00", 15) + "01" "d122";  // Ip(V6(::1, 4433))
}

TransportInfo vector_info() {
  std::array<std::uint8_t, 64> sig{};
  sig.fill(0xab);
  TransportInfo info{kStamp, addresses(), kRelay, Signature(sig)};
  std::sort(info.addresses.begin(), info.addresses.end());
  return info;
}

TEST(TransportInfoVectors, WireFormIsPostcardOfAuthenticatedTransportInfo) {
  postcard::Writer writer;
  write_transport_info(writer, counting_id(), vector_info());
  EXPECT_EQ(to_hex(writer.data()), wire_hex());
  const Bytes wire = hex(wire_hex());
  postcard::Reader reader(wire);
  auto back = read_transport_info(reader, counting_id());
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_TRUE(reader.at_end());
  EXPECT_EQ(*back, vector_info());
}

TEST(TransportInfoVectors, NodesMessageCarriesTheWireForm) {
  const std::string expected = "0301" "20" + to_hex(counting_id().bytes()) + wire_hex();
  const Nodes nodes{{{counting_id(), vector_info()}}};
  EXPECT_EQ(to_hex(encode_psi_hash(nodes)), expected);
  auto decoded = decode_psi_hash(hex(expected));
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  EXPECT_EQ(*decoded, PsiHashMessage(nodes));
}

// The same values run through the real libraries (serde 1.0.228, ciborium 0.2.2, postcard 1.0.10,
// with p2panda 0.7's and iroh-base 1.0's types modelled field for field; docs/discovery.md,
// "Signed bytes"). The hand-derived vectors above must agree with these.
const char* const kSerdeCborFull =
    "a26974696d657374616d70821b00060a24181e4000036961646472657373657381a16449726f68a262696498"
    "20000102030405060708090a0b0c0d0e0f101112131415161718181819181a181b181c181d181e181f656164"
    "64727384a16552656c61797668747470733a2f2f72656c61792e6578616d706c652fa1624970a16256348284"
    "0a00000109a1624970a1625634828418c018a801141907e6a1624970a1625636829000000000000000000000"
    "000000000001191151";
const char* const kSerdeCborOne =
    "a26974696d657374616d70821b00060a24181e4000036961646472657373657381a16449726f68a262696498"
    "20000102030405060708090a0b0c0d0e0f101112131415161718181819181a181b181c181d181e181f656164"
    "64727381a1624970a16256348284187f000001190fa0";
const char* const kSerdePostcardFull =
    "8080f9c0c1c482030340abababababababababababababababababababababababababababababababababab"
    "abababababababababababababababababababababababababababababab0100000102030405060708090a0b"
    "0c0d0e0f101112131415161718191a1b1c1d1e1f04001668747470733a2f2f72656c61792e6578616d706c65"
    "2f01000a000001090100c0a80114e60f010100000000000000000000000000000001d122";
const char* const kSerdePostcardOne =
    "8080f9c0c1c482030340abababababababababababababababababababababababababababababababababab"
    "abababababababababababababababababababababababababababababab0100000102030405060708090a0b"
    "0c0d0e0f101112131415161718191a1b1c1d1e1f0101007f000001a01f";

TEST(TransportInfoVectors, AgreeWithSerdesOwnOutput) {
  EXPECT_EQ(to_hex(signed_bytes(counting_id(), kStamp, addresses(), kRelay)), kSerdeCborFull);
  EXPECT_EQ(to_hex(signed_bytes(counting_id(), kStamp, {IpPort{dns::V4{127, 0, 0, 1}, 4000}})),
            kSerdeCborOne);
  EXPECT_EQ(wire_hex(), kSerdePostcardFull);
  postcard::Writer writer;
  auto one = vector_info();
  one.addresses = {IpPort{dns::V4{127, 0, 0, 1}, 4000}};
  one.relay_url.reset();
  write_transport_info(writer, counting_id(), one);
  EXPECT_EQ(to_hex(writer.data()), kSerdePostcardOne);
}

Errc wire_error(const std::string& text, const PublicKey& node = counting_id()) {
  const Bytes bytes = hex(text);
  postcard::Reader reader(bytes);
  auto read = read_transport_info(reader, node);
  EXPECT_FALSE(read);
  return read ? Errc::Io : read.error().code();
}

TEST(TransportInfoVectors, WireFormRefusesWhatWeCannotVerifyOrDial) {
  const std::string head = "0503" "40" + rep("ab", 64);
  const std::string id = to_hex(counting_id().bytes());
  const std::string v4 = "01" "00" "7f000001" "a01f";
  {
    const Bytes base = hex(head + "01" "00" + id + "01" + v4);
    postcard::Reader reader(base);
    ASSERT_TRUE(read_transport_info(reader, counting_id()));  // the well-formed base case
  }
  EXPECT_EQ(wire_error(head + "00"), Errc::PostcardInvalidValue);              // no transport
  EXPECT_EQ(wire_error(head + "02" "00" + id + "00" "00" + id + "00"), Errc::PostcardInvalidValue);
  EXPECT_EQ(wire_error(head + "01" "01"), Errc::PostcardInvalidValue);  // unknown transport kind
  EXPECT_EQ(wire_error(head + "01" "00" + rep("ee", 32) + "00"),
            Errc::PostcardInvalidValue);  // the EndpointAddr names another node
  EXPECT_EQ(wire_error(head + "01" "00" + id + "01" "02" "01" "00"),
            Errc::PostcardInvalidValue);  // Custom address
  EXPECT_EQ(wire_error(head + "01" "00" + id + "02" + v4 + v4),
            Errc::PostcardInvalidValue);  // a repeated address
  EXPECT_EQ(wire_error(head + "01" "00" + id + "02" "00" "0161" "00" "0162"),
            Errc::PostcardInvalidValue);  // two relays
  EXPECT_EQ(wire_error(head + "01" "00" + id + "01" "00" "02c3a9"),
            Errc::PostcardInvalidValue);  // a non-ASCII relay url
  EXPECT_EQ(wire_error(head + "01" "00" + id + "01" "01" "02" "7f000001" "a01f"),
            Errc::PostcardInvalidValue);  // unknown SocketAddr variant
  EXPECT_EQ(wire_error(head + "01" "00" + id + "01" "01" "00" "7f000001" "808004"),
            Errc::PostcardOverflow);  // a port over 65535
  EXPECT_EQ(wire_error("0503" "3f" + rep("ab", 63)), Errc::PostcardInvalidValue);  // short sig
  EXPECT_EQ(wire_error(head + "01" "00" + id + "02" + v4), Errc::PostcardTruncated);
}

TEST(TransportInfoVectors, AddressesInAnyOrderReadSortedAndStillVerify) {
  const auto key = PrivateKey::from_bytes(hex(rep("42", 32))).value();
  const auto info = sign_transport_info(key, kStamp, addresses(), kRelay);
  // Written in reverse (a valid BTreeSet encoding never is, but serde accepts any order).
  postcard::Writer writer;
  writer.varint(kStamp.micros).varint(kStamp.lamport).bytes(info.signature.bytes());
  writer.varint(1).varint(0).raw(key.public_key().bytes()).varint(4);
  for (auto it = info.addresses.rbegin(); it != info.addresses.rend(); ++it) {
    writer.varint(1);
    std::visit([&](const auto& ip) { writer.varint(ip.size() == 4 ? 0 : 1).raw(ip); }, it->ip);
    writer.varint(it->port);
  }
  writer.varint(0).text(kRelay);
  postcard::Reader reader(writer.data());
  auto back = read_transport_info(reader, key.public_key());
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back, info);
  EXPECT_TRUE(verify_transport_info(key.public_key(), *back));
}

}  // namespace
}  // namespace p2panda::discovery
