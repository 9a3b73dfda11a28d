// DnsMessage: the subset of RFC 1035 DNS messages that mDNS service discovery (RFC 6762/6763)
// needs: questions, and PTR, SRV, TXT, A and AAAA records; other record types are kept as raw
// rdata. Encoding writes names uncompressed; decoding follows compression pointers (backwards
// only, so a loop is impossible) and is bounded: at most kMaxRecords records and questions, names
// of at most 255 bytes, 63-byte labels. The format and where it comes from: docs/discovery.md,
// "mDNS". Pure functions on plain values: any thread.
#pragma once

#include <array>
#include <cstdint>
#include <p2panda/encoding.hpp>
#include <p2panda/result.hpp>
#include <string>
#include <variant>
#include <vector>

namespace p2panda::discovery::dns {

enum class Type : std::uint16_t { A = 1, Ptr = 12, Txt = 16, Aaaa = 28, Srv = 33, Any = 255 };
inline constexpr std::uint16_t kClassIn = 1;
// The top bit of a question's class asks for a unicast reply (QU); of a record's, "cache flush".
inline constexpr std::uint16_t kClassTopBit = 0x8000;
inline constexpr std::uint16_t kFlagResponse = 0x8000;
inline constexpr std::uint16_t kFlagAuthoritative = 0x0400;
inline constexpr std::size_t kMaxRecords = 64;
inline constexpr std::size_t kMaxMessage = 9000;  // RFC 6762 §17: never more than 9000 bytes

// A domain name as its labels, without the root: {"_p2pandav1", "_udp", "local"}. Compared
// case-insensitively by the callers that need it (mDNS names are ASCII).
using Name = std::vector<std::string>;

struct Question {
  Name name;
  std::uint16_t type = 0;
  std::uint16_t klass = kClassIn;  // with kClassTopBit when the querier asks for unicast
  friend bool operator==(const Question&, const Question&) = default;
};

struct Srv {
  std::uint16_t priority = 0, weight = 0, port = 0;
  Name target;
  friend bool operator==(const Srv&, const Srv&) = default;
};
struct Txt {
  std::vector<std::string> strings;  // each at most 255 bytes
  friend bool operator==(const Txt&, const Txt&) = default;
};
struct Ptr {
  Name target;
  friend bool operator==(const Ptr&, const Ptr&) = default;
};
using V4 = std::array<std::uint8_t, 4>;
using V6 = std::array<std::uint8_t, 16>;
struct Other {
  Bytes rdata;
  friend bool operator==(const Other&, const Other&) = default;
};
using RData = std::variant<V4, V6, Srv, Txt, Ptr, Other>;

struct Record {
  Name name;
  std::uint16_t type = 0;
  std::uint16_t klass = kClassIn;
  std::uint32_t ttl = 0;
  RData data;
  friend bool operator==(const Record&, const Record&) = default;
};

struct Message {
  std::uint16_t id = 0;
  std::uint16_t flags = 0;
  std::vector<Question> questions;
  std::vector<Record> answers;
  std::vector<Record> authorities;
  std::vector<Record> additionals;
  bool is_response() const { return (flags & kFlagResponse) != 0; }
  friend bool operator==(const Message&, const Message&) = default;
};

// Errors: InvalidArgument when a label is empty or over 63 bytes, a name over 255, a TXT string
// over 255 bytes, or the record's type does not match its data (A with V4, AAAA with V6, SRV,
// TXT, PTR; anything else with Other).
Result<Bytes> encode(const Message& message);

// Errors: InvalidArgument naming the offset: truncated input, a bad label or pointer, a name over
// 255 bytes, rdata whose length does not fit its type, more than kMaxRecords entries, trailing
// bytes, or a message over kMaxMessage bytes.
Result<Message> decode(ByteSpan input);

// Case-insensitive (ASCII) name comparison, as DNS names compare.
bool same_name(const Name& a, const Name& b);

}  // namespace p2panda::discovery::dns
