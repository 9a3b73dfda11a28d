// QUIC v1 Initial packet protection (RFC 9001 5), client side, for the QUIC receive fuzz target and
// its seed capture. The server's Initial keys follow from the client's destination connection id
// alone, so a fuzzer can write Initials the server really decrypts: only then do mutated frames
// and ClientHellos reach ngtcp2's frame parser and GnuTLS. Mutating sealed packets instead would
// only ever exercise the AEAD check.
#pragma once

#include <optional>

#include <p2panda/encoding.hpp>

namespace p2panda::fuzz {

struct InitialPacket {
  Bytes dcid;  // 0..20 bytes
  Bytes scid;  // 0..20 bytes
  Bytes token;
  std::uint32_t packet_number = 0;
  Bytes payload;  // plaintext frames
};

// The packet as a client sends it: long header, 2-byte packet number, AES-128-GCM with the
// Initial keys of `dcid`, header protection. The payload must be at least 2 bytes (header
// protection samples 16 bytes after the packet number); padding is the caller's choice.
Bytes seal_initial(const InitialPacket& packet);

// The first packet of `datagram` if it is a QUIC v1 Initial that decrypts with the client
// Initial keys of its own destination id; nullopt otherwise.
std::optional<InitialPacket> open_initial(ByteSpan datagram);

}  // namespace p2panda::fuzz
