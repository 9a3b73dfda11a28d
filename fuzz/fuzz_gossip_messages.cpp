// Fuzzes the gossip wire decoders and the topic state machine. The input is read three ways:
// - as one frame body: if it decodes as a topic::Message or a 0.35 ProtoMessage it must encode
//   back to exactly the same bytes;
// - as a 0.101 uni stream (header frame, then message frames) fed in small chunks;
// - as a conversation: bodies each prefixed by a one-byte length, the first byte of each picking
//   one of four fixed peers as sender, fed to a TopicState with timers fired in between.
// Nothing may crash; active and passive views stay within their capacities and never hold us.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "gossip/topic_state.hpp"

namespace {

using namespace p2panda;
using namespace p2panda::gossip;
using fuzz::check;
using fuzz::same_bytes;

PeerId peer(std::uint8_t byte) {
  std::array<std::uint8_t, 32> bytes{};
  bytes.fill(byte);
  return PeerId(bytes);
}

void check_codecs(ByteSpan input) {
  if (auto message = decode_message(input)) check(same_bytes(encode_message(*message), input));
  if (auto proto = decode_proto_message(input)) {
    Bytes again(proto->topic.bytes().begin(), proto->topic.bytes().end());
    encode_message(proto->message, again);
    check(same_bytes(again, input));
  }
  StreamReaderV101 reader(512);
  for (std::size_t at = 0; at < input.size(); at += 7) {
    reader.push(input.subspan(at, std::min<std::size_t>(7, input.size() - at)));
    while (true) {
      auto next = reader.next();
      if (!next || !*next) break;
      check(reader.topic().has_value());
    }
  }
}

void check_state_machine(ByteSpan input) {
  const PeerId me = peer(0xee);
  TopicState state(me, Bytes{1}, {}, 42);
  Micros now = 0;
  auto joined = state.join(std::vector<PeerId>{peer(1)}, now);
  (void)joined;
  while (input.size() >= 2) {
    const std::size_t length = std::min<std::size_t>(input[0], input.size() - 2);
    const PeerId from = peer(static_cast<std::uint8_t>(1 + input[1] % 4));
    const ByteSpan body = input.subspan(2, length);
    input = input.subspan(2 + length);
    now += 10'000;
    if (auto message = decode_message(body)) {
      (void)state.handle_message(from, *message, now);
    } else if (!body.empty() && body[0] == 0xff) {
      (void)state.peer_disconnected(from, now);
    } else {
      (void)state.broadcast(Bytes(body.begin(), body.end()), Scope::Swarm, now);
    }
    if (auto deadline = state.next_deadline(); deadline && *deadline <= now + 100'000) {
      (void)state.handle_timeout(*deadline);
      now = std::max(now, *deadline);
    }
    check(state.active_view().size() <= 5 && state.passive_view().size() <= 30);
    check(std::find(state.active_view().begin(), state.active_view().end(), me) ==
          state.active_view().end());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteSpan input(data, size);
  check_codecs(input);
  check_state_machine(input);
  return 0;
}
