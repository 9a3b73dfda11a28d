// Fuzzes the decoder of gossip PeerData (iroh's postcard AddrInfo, src/node/gossip_addr.hpp),
// which every node decodes from untrusted Join, Neighbor, ForwardJoin and Shuffle messages.
// Nothing may crash; whatever decodes must encode to bytes that decode to the same value (sorted
// and deduplicated, as the encoder writes a BTreeSet), and re-encode to the same bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "node/gossip_addr.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace p2panda;
  auto decoded = node::decode_addr_info(ByteSpan(data, size));
  if (!decoded) return 0;
  const Bytes encoded = node::encode_addr_info(*decoded);
  auto again = node::decode_addr_info(encoded);
  fuzz::check(again.has_value());
  fuzz::check(again->relay_url == decoded->relay_url);
  auto sorted = decoded->direct_addresses;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  auto round = again->direct_addresses;
  std::sort(round.begin(), round.end());
  fuzz::check(round == sorted);
  fuzz::check(node::encode_addr_info(*again) == encoded);
  return 0;
}
