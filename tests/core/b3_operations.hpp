// The two Node API operations of vector B3 (shared/vectors/p2panda-0.7.md), built with the
// fixture key: the vector tests check their bytes, the sync tests frame them.
#pragma once

#include <p2panda/extensions.hpp>

#include "test_util.hpp"

namespace p2panda::test {

constexpr std::string_view kLogIdZeroTopic =
    "2ada83c1819a5372dae1238fc1ded123c8104fdaa15862aaee69428a1820fcda";
constexpr std::string_view kB3Body = "6d48656c6c6f2c2050616e646121";  // CBOR text "Hello, Panda!"
constexpr std::uint64_t kB3Timestamp = 1700000000000000;

// Seq 0 with body, Basic extensions, topic = 32 zero bytes.
inline Operation b3_seq0() {
  return create_node_operation(fixture_key(), {.topic = Topic{},
                                               .seq_num = SeqNum(0),
                                               .timestamp = Timestamp(kB3Timestamp),
                                               .body = Body(hex(kB3Body))});
}

// Seq 1, prune flag set, no body.
inline Operation b3_seq1() {
  return create_node_operation(fixture_key(), {.topic = Topic{},
                                               .seq_num = SeqNum(1),
                                               .backlink = b3_seq0().id(),
                                               .timestamp = Timestamp(kB3Timestamp + 1),
                                               .prune = true});
}

}  // namespace p2panda::test
