// Fuzzes the discovery layer's decoder and PSI machines. The input is read twice:
// - as one payload: if it decodes as a PsiHashMessage, its re-encoding has the same length and
//   decodes to the same message and re-encodes to the same bytes; it is byte-identical to the
//   input when the message holds no set (sets are accepted in any order but written sorted:
//   hashed topics, and each transport info's addresses, as serde's BTreeSet reads them);
// - as a conversation, payloads each prefixed by a one-byte length (the last takes what is left),
//   fed in order to Alice (after start()) and to Bob until one ends.
// Nothing may crash; each step's status is the machine's status; an error leaves the machine
// Failed; a Done machine's common topics are a subset of its own and its received transport infos
// respect the limits. Fixed salts and topics (below) let seeds carry meaningful hashes.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "discovery/psi.hpp"
#include "fuzz_support.hpp"

namespace {

using namespace p2panda;
using namespace p2panda::discovery;
using fuzz::check;
using fuzz::same_bytes;

template <class T>
T filled(std::uint8_t byte) {
  std::array<std::uint8_t, 32> bytes{};
  bytes.fill(byte);
  return T(bytes);
}

const MessageLimits kLimits{.max_topics = 16, .max_nodes = 16, .transport_info = {4, 64}};

void check_message(ByteSpan payload) {
  auto message = decode_psi_hash(payload, kLimits);
  if (!message) return;
  const Bytes again = encode_psi_hash(*message);
  check(again.size() == payload.size());
  auto redecoded = decode_psi_hash(again, kLimits);
  check(redecoded.has_value() && *redecoded == *message);
  if (std::holds_alternative<AliceSaltHalf>(*message)) check(same_bytes(again, payload));
  check(same_bytes(encode_psi_hash(*redecoded), again));  // the written form is canonical
  check(!message_name(*message).empty());
}

std::vector<ByteSpan> conversation(ByteSpan input) {
  std::vector<ByteSpan> payloads;
  while (!input.empty()) {
    const std::size_t length = std::min<std::size_t>(input[0], input.size() - 1);
    payloads.push_back(input.subspan(1, length));
    input = input.subspan(1 + length);
  }
  return payloads;
}

template <class Machine>
void feed(Machine& machine, const std::vector<ByteSpan>& payloads,
          const std::set<Topic>& my_topics) {
  for (ByteSpan payload : payloads) {
    auto step = machine.handle(payload);
    if (!step) {
      check(machine.status() == PsiStatus::Failed);
      return;
    }
    check(step->status == machine.status());
    if (step->status != PsiStatus::InProgress) break;
  }
  if (machine.status() == PsiStatus::Done) {
    const auto& result = machine.result();
    check(std::includes(my_topics.begin(), my_topics.end(), result.common_topics.begin(),
                        result.common_topics.end()));
    check(result.transport_infos.size() <= kLimits.max_nodes);
  }
}

TransportInfos share(const std::set<Topic>& common) {
  TransportInfos infos{{filled<NodeId>(0xee), TransportInfo{{1, 2}, {}, "r", {}}}};
  for (const auto& topic : common) infos[NodeId(topic.array())] = TransportInfo{};
  return infos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteSpan input(data, size);
  check_message(input);
  const std::vector<ByteSpan> payloads = conversation(input);

  // Alice (salt half 11..11) and Bob (22..22) both hold topics 01..01 and 02..02.
  const std::set<Topic> topics{filled<Topic>(1), filled<Topic>(2)};
  PsiAlice alice(topics, filled<SaltHalf>(0x11), share, kLimits);
  check(alice.start().has_value());
  feed(alice, payloads, topics);
  PsiBob bob(topics, filled<SaltHalf>(0x22), share, kLimits);
  feed(bob, payloads, topics);
  return 0;
}
