// quic_peer: a command-line peer around net::Endpoint for the interop (iroh) and netns tests.
// The test scripts drive it as a separate process and judge it by its JSON lines on stdout and
// its exit code; the protocol it speaks on a stream is described in tests/interop/README.md.
//
// Threading: main() parses arguments and waits; everything that touches a Connection or Stream
// runs as coroutines on the endpoint's executor. emit() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <p2panda/error.hpp>

#include "net/endpoint.hpp"

namespace p2panda::interop {

// Exit codes, so that a script can tell the outcomes apart without parsing messages.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,          // anything not listed below
  kExitUsage = 2,           // bad arguments
  kExitKeyRefused = 3,      // the handshake failed over a key (we or the peer refused it)
  kExitAlpnRefused = 4,     // the peer refused our ALPN
  kExitTimeout = 5,         // handshake timeout, or the whole run took longer than --timeout
  kExitConnectionLost = 6,  // after the handshake, the peer went silent (idle timeout)
  kExitMismatch = 7,        // the echo or the hash reply differs from what was sent
};

// A stream that starts with these 16 bytes is a sink request: the server reads to the end and
// answers with the byte count (8 bytes, little endian) and the BLAKE3 hash of everything after
// the marker. Any other stream is echoed. iroh's test client starts its data with byte 0, so it
// can never look like a sink request.
inline constexpr std::string_view kSinkMarker = "p2panda-cpp:sink";
inline constexpr std::size_t kSinkReplySize = 8 + 32;

// Byte i of every payload the dialler sends is i % 251 (as iroh_peer.mjs does): a period that is
// not a power of two catches shifted or repeated chunks.
inline std::uint8_t pattern_byte(std::uint64_t offset) {
  return static_cast<std::uint8_t>(offset % 251);
}

// One JSON object per line on stdout, flushed at once (scripts wait for lines as they come).
void emit(const nlohmann::json& event);
// After this, emit() prints nothing: the run has reported its outcome, and what coroutines say
// while the endpoint shuts down ("endpoint shut down") would only muddle it.
void end_output();

// The ALPN as text when it is printable ASCII, else "hex:..." (the same form iroh_peer.mjs uses).
std::string alpn_text(const Bytes& alpn);

struct ServeOptions {
  net::EndpointConfig endpoint;
  Bytes alpn;
  std::chrono::seconds lifetime{300};  // a server nobody stops is an error in the test
};

struct DialOptions {
  net::EndpointConfig endpoint;
  net::SocketAddress address;
  PublicKey node_id;
  Bytes alpn;
  std::optional<std::uint64_t> bytes;  // sink-and-hash this many bytes; else an echo round trip
  std::size_t echo_bytes = 4096;
  std::chrono::seconds timeout{30};
};

int run_serve(ServeOptions options);
int run_dial(DialOptions options);

// Maps a failed connect() to an exit code. Until Errc has transport codes, the endpoint reports
// every handshake failure as HandshakeRejected and the reason is only in the message.
int classify_handshake_error(const Error& error);

// Maps the end of an established connection to an exit code.
int classify_close(const std::optional<net::CloseInfo>& info);

}  // namespace p2panda::interop
