// Fuzzes the sync layer's decoders and handshake state machines. The input is read twice:
// - as one payload (a frame's contents): if it decodes as a TopicHandshake, TopicLogSync or
//   hardened handshake message it must encode back to exactly the same bytes;
// - as a conversation, payloads each prefixed by a one-byte length (the last takes what is left),
//   fed in order to each handshake machine (both roles, both protocols) until one ends it.
// Nothing may crash; each step's status is the machine's status; an error leaves an in-progress
// machine Failed; an acceptor knows a topic exactly when it agreed on one. Fixed nonces, node ids
// and topics (below) let seeds in corpus/fuzz_sync_messages/ carry valid proofs.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_support.hpp"
#include "sync/hardened_handshake.hpp"

namespace {

using namespace p2panda;
using namespace p2panda::sync;
using fuzz::check;
using fuzz::same_bytes;

Topic filled_topic(std::uint8_t byte) {
  std::array<std::uint8_t, 32> bytes{};
  bytes.fill(byte);
  return Topic(bytes);
}

void check_messages(ByteSpan payload) {
  if (auto message = decode_topic_log_sync(payload)) {
    auto again = encode_topic_log_sync(*message);
    check(again.has_value() && same_bytes(*again, payload));
    check(!message_name(*message).empty());
  }
  if (auto message = decode_topic_handshake(payload)) {
    check(same_bytes(encode_topic_handshake(*message), payload));
  }
  if (auto message = decode_hardened_handshake(payload)) {
    check(same_bytes(encode_hardened_handshake(*message), payload));
  }
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
void feed(Machine& machine, const std::vector<ByteSpan>& payloads) {
  for (ByteSpan payload : payloads) {
    const auto before = machine.status();
    auto step = machine.handle(payload);
    if (!step) {
      check(before != HandshakeStatus::InProgress || machine.status() == HandshakeStatus::Failed);
      return;
    }
    check(step->status == machine.status());
    if (step->status != HandshakeStatus::InProgress) return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteSpan input(data, size);
  check_messages(input);
  const std::vector<ByteSpan> payloads = conversation(input);

  const Topic topic = filled_topic(0);
  HandshakeAcceptor acceptor([&](const Topic& offered) { return offered == topic; });
  feed(acceptor, payloads);
  if (acceptor.status() == HandshakeStatus::Done) check(acceptor.topic() == topic);
  if (acceptor.status() == HandshakeStatus::Rejected) check(!acceptor.topic().has_value());
  HandshakeInitiator initiator(topic);
  (void)initiator.start();
  feed(initiator, payloads);

  // Initiator alice (nonce 11..11), acceptor bob (nonce 22..22), shared topic 00..00.
  const HandshakeNonce nonce_i(filled_topic(0x11).array());
  const HandshakeNonce nonce_a(filled_topic(0x22).array());
  const NodeId alice(filled_topic(0xa1).array());
  const NodeId bob(filled_topic(0xb0).array());
  HardenedAcceptor hardened_acceptor({filled_topic(5), topic}, nonce_a,
                                     {.local = bob, .remote = alice});
  feed(hardened_acceptor, payloads);
  check(hardened_acceptor.topic().has_value() == hardened_acceptor.done());
  if (hardened_acceptor.done()) check(hardened_acceptor.topic() == topic);
  HardenedInitiator hardened_initiator(topic, nonce_i, {.local = alice, .remote = bob});
  (void)hardened_initiator.start();
  feed(hardened_initiator, payloads);
  return 0;
}
