// Error: what went wrong, as a flat code plus a human-readable message.
//
// Every fallible call in p2panda returns Result<T> (result.hpp) carrying an Error on failure; no
// exception crosses the public API. Codes are stable and distinct per rule, so callers can branch on
// them; the message adds context (offsets, expected vs found values). Errors convert to
// std::error_code through p2panda::error_category(). Plain values: safe to use from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace p2panda {

enum class Errc {
  // Strict CBOR decoding (RFC 8949 deterministic subset).
  CborTruncated = 1,
  CborNonCanonical,
  CborIndefiniteLength,
  CborTagNotAllowed,
  CborReservedValue,
  CborTypeMismatch,
  CborInvalidUtf8,
  CborTooDeep,
  CborTrailingBytes,
  // Postcard decoding.
  PostcardTruncated,
  PostcardNonCanonical,
  PostcardOverflow,
  PostcardInvalidValue,
  PostcardTrailingBytes,
  // Length-prefixed frames.
  FrameTooLarge,
  // Text forms and fixed-size values.
  InvalidHex,
  InvalidBase32,
  InvalidLength,
  // Header structure (decodes, but the shape is wrong).
  HeaderMalformed,
  ExtensionsMalformed,
  ExtensionsUnsupported,
  // Validation rules (PROTOCOLS.md Level A), one code per rule.
  SignatureMissing,
  SignatureInvalid,
  VersionUnsupported,
  PayloadHashMissing,
  PayloadHashUnexpected,
  PayloadSizeMismatch,
  PayloadHashMismatch,
  BacklinkMissing,
  BacklinkUnexpected,
  BacklinkMismatch,
  SeqNumNonIncremental,
  AuthorMismatch,
  LogIdMismatch,
  ExtensionsMissing,
  // Ephemeral messages.
  EphemeralMalformed,
  // Storage.
  StoreOpenFailed,
  StoreSchemaTooNew,
  StoreCorrupt,
  StoreFull,
  StoreReadOnly,
  StoreIo,
  StoreBusy,
  StoreClosed,
  StoreFailed,
  // Processing.
  OrdererFull,
  TooManyDependencies,
  // Sync protocols.
  SyncProtocolViolation,
  SyncTimeout,
  SyncLagging,
  SyncClosedUnexpectedly,
  HandshakeRejected,
  HandshakeProofInvalid,
  // Node API.
  MessageDecodeFailed,  // an operation body is not a valid value of the stream's type
  NodeShutDown,         // the node was shut down while the call was pending
  // Everything else.
  InvalidArgument,
  Io,
  // QUIC transport (src/net, docs/net.md "Errors"). Appended so earlier values keep their numbers.
  ConnectionClosed,    // closed gracefully by us or the peer; the message has code and reason
  ConnectionLost,      // nothing heard from the peer within the idle timeout
  TimedOut,            // the handshake did not finish in time
  TlsRefused,          // the peer refused our key or ALPN, or we refused theirs
  StreamReset,         // the stream was reset or stopped (RESET_STREAM / STOP_SENDING)
  TooManyConnections,  // a connection limit (per peer or per endpoint) is reached
  Unreachable,         // nothing listens at the address: its host answered "port unreachable"
  // Node API, appended likewise.
  Cancelled,  // the awaiting caller was cancelled (e.g. `next() || timer`); nothing was taken
};

// Stable name of a code, e.g. "BacklinkMismatch". Never empty.
std::string_view errc_name(Errc code);

const std::error_category& error_category();

inline std::error_code make_error_code(Errc code) {
  return {static_cast<int>(code), error_category()};
}

class Error {
 public:
  Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  Errc code() const { return code_; }
  const std::string& message() const { return message_; }
  std::error_code error_code() const { return make_error_code(code_); }
  // StreamReset: the application code the stream was reset or stopped with (nullopt when the
  // transport did not report one), so that a protocol can tell its own refusals apart without
  // reading the message.
  const std::optional<std::uint64_t>& stream_code() const { return stream_code_; }
  Error&& with_stream_code(std::uint64_t code) && {
    stream_code_ = code;
    return std::move(*this);
  }

  // "<CodeName>: <message>", for logs and command-line output.
  std::string to_string() const;

 private:
  Errc code_;
  std::string message_;
  std::optional<std::uint64_t> stream_code_;
};

}  // namespace p2panda

template <>
struct std::is_error_code_enum<p2panda::Errc> : std::true_type {};
