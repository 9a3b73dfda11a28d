#include "quic_initial.hpp"

#include <array>
#include <cstring>
#include <string_view>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

namespace p2panda::fuzz {
namespace {

constexpr std::uint8_t kInitialSalt[] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34,
                                         0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8,
                                         0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
constexpr std::size_t kTag = 16;
constexpr std::size_t kPacketNumberLength = 2;

struct Keys {
  std::array<std::uint8_t, 16> key{};
  std::array<std::uint8_t, 12> iv{};
  std::array<std::uint8_t, 16> hp{};
};

gnutls_datum_t datum(const std::uint8_t* data, std::size_t size) {
  return gnutls_datum_t{const_cast<std::uint8_t*>(data), static_cast<unsigned>(size)};
}

// HKDF-Expand-Label of TLS 1.3 (RFC 8446 7.1) with an empty context, SHA-256.
void expand_label(const std::array<std::uint8_t, 32>& secret, std::string_view label,
                  std::uint8_t* out, std::size_t length) {
  Bytes info{0, static_cast<std::uint8_t>(length), static_cast<std::uint8_t>(6 + label.size())};
  for (char c : std::string_view("tls13 ")) info.push_back(static_cast<std::uint8_t>(c));
  for (char c : label) info.push_back(static_cast<std::uint8_t>(c));
  info.push_back(0);
  auto key = datum(secret.data(), secret.size());
  auto info_datum = datum(info.data(), info.size());
  gnutls_hkdf_expand(GNUTLS_MAC_SHA256, &key, &info_datum, out, length);
}

Keys client_keys(ByteSpan dcid) {
  std::array<std::uint8_t, 32> initial{};
  std::array<std::uint8_t, 32> client{};
  auto ikm = datum(dcid.data(), dcid.size());
  auto salt = datum(kInitialSalt, sizeof kInitialSalt);
  gnutls_hkdf_extract(GNUTLS_MAC_SHA256, &ikm, &salt, initial.data());
  expand_label(initial, "client in", client.data(), client.size());
  Keys keys;
  expand_label(client, "quic key", keys.key.data(), keys.key.size());
  expand_label(client, "quic iv", keys.iv.data(), keys.iv.size());
  expand_label(client, "quic hp", keys.hp.data(), keys.hp.size());
  return keys;
}

// AES-128-ECB of one block (the header protection mask), as CBC with a zero IV.
std::array<std::uint8_t, 16> hp_mask(const Keys& keys, const std::uint8_t* sample) {
  std::array<std::uint8_t, 16> zero{};
  std::array<std::uint8_t, 16> mask{};
  auto key = datum(keys.hp.data(), keys.hp.size());
  auto iv = datum(zero.data(), zero.size());
  gnutls_cipher_hd_t cipher;
  if (gnutls_cipher_init(&cipher, GNUTLS_CIPHER_AES_128_CBC, &key, &iv) != 0) return mask;
  gnutls_cipher_encrypt2(cipher, sample, 16, mask.data(), mask.size());
  gnutls_cipher_deinit(cipher);
  return mask;
}

std::array<std::uint8_t, 12> nonce_for(const Keys& keys, std::uint64_t packet_number) {
  auto nonce = keys.iv;
  for (std::size_t i = 0; i < 8; ++i) {
    nonce[11 - i] ^= static_cast<std::uint8_t>(packet_number >> (8 * i));
  }
  return nonce;
}

void put_varint(Bytes& out, std::uint64_t value) {
  if (value < 64) {
    out.push_back(static_cast<std::uint8_t>(value));
  } else if (value < 16384) {
    out.push_back(static_cast<std::uint8_t>(0x40 | (value >> 8)));
    out.push_back(static_cast<std::uint8_t>(value));
  } else {
    out.push_back(static_cast<std::uint8_t>(0x80 | (value >> 24)));
    out.push_back(static_cast<std::uint8_t>(value >> 16));
    out.push_back(static_cast<std::uint8_t>(value >> 8));
    out.push_back(static_cast<std::uint8_t>(value));
  }
}

std::optional<std::uint64_t> get_varint(ByteSpan in, std::size_t& at) {
  if (at >= in.size()) return std::nullopt;
  const std::size_t length = std::size_t{1} << (in[at] >> 6);
  if (in.size() - at < length) return std::nullopt;
  std::uint64_t value = in[at] & 0x3f;
  for (std::size_t i = 1; i < length; ++i) value = (value << 8) | in[at + i];
  at += length;
  return value;
}

std::optional<Bytes> get_bytes(ByteSpan in, std::size_t& at, std::size_t length) {
  if (in.size() - at < length) return std::nullopt;
  Bytes out(in.begin() + static_cast<std::ptrdiff_t>(at),
            in.begin() + static_cast<std::ptrdiff_t>(at + length));
  at += length;
  return out;
}

}  // namespace

Bytes seal_initial(const InitialPacket& packet) {
  const Keys keys = client_keys(packet.dcid);
  Bytes out{0xc0 | (kPacketNumberLength - 1), 0, 0, 0, 1};  // long header, Initial, QUIC v1
  out.push_back(static_cast<std::uint8_t>(packet.dcid.size()));
  out.insert(out.end(), packet.dcid.begin(), packet.dcid.end());
  out.push_back(static_cast<std::uint8_t>(packet.scid.size()));
  out.insert(out.end(), packet.scid.begin(), packet.scid.end());
  put_varint(out, packet.token.size());
  out.insert(out.end(), packet.token.begin(), packet.token.end());
  put_varint(out, kPacketNumberLength + packet.payload.size() + kTag);
  const std::size_t pn_offset = out.size();
  out.push_back(static_cast<std::uint8_t>(packet.packet_number >> 8));
  out.push_back(static_cast<std::uint8_t>(packet.packet_number));

  const auto nonce = nonce_for(keys, packet.packet_number);
  auto key = datum(keys.key.data(), keys.key.size());
  gnutls_aead_cipher_hd_t aead;
  if (gnutls_aead_cipher_init(&aead, GNUTLS_CIPHER_AES_128_GCM, &key) != 0) return {};
  Bytes sealed(packet.payload.size() + kTag);
  std::size_t sealed_size = sealed.size();
  const int rv = gnutls_aead_cipher_encrypt(aead, nonce.data(), nonce.size(), out.data(),
                                            out.size(), kTag, packet.payload.data(),
                                            packet.payload.size(), sealed.data(), &sealed_size);
  gnutls_aead_cipher_deinit(aead);
  if (rv != 0 || packet.payload.size() < 2) return {};
  out.insert(out.end(), sealed.begin(), sealed.begin() + static_cast<std::ptrdiff_t>(sealed_size));

  const auto mask = hp_mask(keys, out.data() + pn_offset + 4);
  out[0] ^= mask[0] & 0x0f;
  for (std::size_t i = 0; i < kPacketNumberLength; ++i) out[pn_offset + i] ^= mask[1 + i];
  return out;
}

std::optional<InitialPacket> open_initial(ByteSpan datagram) {
  static constexpr std::uint8_t kVersion1[] = {0, 0, 0, 1};
  if (datagram.size() < 7 || (datagram[0] & 0xf0) != 0xc0 ||
      std::memcmp(datagram.data() + 1, kVersion1, 4) != 0) {
    return std::nullopt;
  }
  InitialPacket packet;
  std::size_t at = 5;
  const std::size_t dcid_length = datagram[at++];
  auto dcid_bytes = get_bytes(datagram, at, dcid_length);
  if (!dcid_bytes || at >= datagram.size()) return std::nullopt;
  const std::size_t scid_length = datagram[at++];
  auto scid_bytes = get_bytes(datagram, at, scid_length);
  auto token_length = scid_bytes ? get_varint(datagram, at) : std::nullopt;
  auto token = token_length ? get_bytes(datagram, at, *token_length) : std::nullopt;
  auto length = token ? get_varint(datagram, at) : std::nullopt;
  if (!length || *length < 20 || datagram.size() - at < *length) return std::nullopt;
  packet.dcid = std::move(*dcid_bytes);
  packet.scid = std::move(*scid_bytes);
  packet.token = std::move(*token);

  const Keys keys = client_keys(packet.dcid);
  Bytes header(datagram.begin(), datagram.begin() + static_cast<std::ptrdiff_t>(at));
  const auto mask = hp_mask(keys, datagram.data() + at + 4);
  header[0] ^= mask[0] & 0x0f;
  const std::size_t pn_length = (header[0] & 0x03) + 1;
  for (std::size_t i = 0; i < pn_length; ++i) {
    header.push_back(datagram[at + i] ^ mask[1 + i]);
    packet.packet_number = (packet.packet_number << 8) | header.back();
  }
  // A client's first packets have small numbers, so the truncated number is the full one.
  const auto nonce = nonce_for(keys, packet.packet_number);
  const std::uint8_t* sealed = datagram.data() + at + pn_length;
  const std::size_t sealed_size = *length - pn_length;
  auto key = datum(keys.key.data(), keys.key.size());
  gnutls_aead_cipher_hd_t aead;
  if (gnutls_aead_cipher_init(&aead, GNUTLS_CIPHER_AES_128_GCM, &key) != 0) return std::nullopt;
  packet.payload.resize(sealed_size);
  std::size_t payload_size = packet.payload.size();
  const int rv =
      gnutls_aead_cipher_decrypt(aead, nonce.data(), nonce.size(), header.data(), header.size(),
                                 kTag, sealed, sealed_size, packet.payload.data(), &payload_size);
  gnutls_aead_cipher_deinit(aead);
  if (rv != 0) return std::nullopt;
  packet.payload.resize(payload_size);
  return packet;
}

}  // namespace p2panda::fuzz
