// Fuzzes the mDNS side of discovery, everything a multicast datagram or a stored address-book row
// reaches: dns::decode (a decoded message re-encodes, when its names and records are encodable,
// to bytes that decode to the same message), mdns::parse and verified_info on whatever it
// announced, parse_user_data on the input as text, and decode_transport_info (a decoded info
// re-encodes to the same bytes: the storage form has one encoding per value).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "discovery/dns.hpp"
#include "discovery/mdns.hpp"
#include "discovery/transport_info.hpp"
#include "fuzz_support.hpp"

using namespace p2panda;
using namespace p2panda::discovery;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteSpan input(data, size);
  if (auto message = dns::decode(input)) {
    if (auto again = dns::encode(*message)) {
      auto back = dns::decode(*again);
      fuzz::check(back.has_value());
      // An empty TXT record is written as one empty string (RFC 6763 §6.1), so compare counts.
      fuzz::check(back->answers.size() == message->answers.size());
      fuzz::check(back->questions == message->questions);
    }
  }
  if (auto parsed = mdns::parse(input, mdns::kService)) {
    for (const auto& announcement : parsed->announcements) (void)mdns::verified_info(announcement);
  }
  (void)parse_user_data(std::string_view(reinterpret_cast<const char*>(data), size));
  if (auto info = decode_transport_info(input)) {
    fuzz::check(fuzz::same_bytes(encode_transport_info(*info), input));
  }
  return 0;
}
