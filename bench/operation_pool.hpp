// A pool of distinct, signed Node API operations for benchmarks: different authors, topics,
// sequence numbers and bodies, so that measuring one call per pool entry in turn cannot profit
// from repeated inputs (branch history, caches of the last key or message). Deterministic: the
// same pool on every run. Plain values.
#pragma once

#include <cstddef>
#include <vector>

#include <p2panda/extensions.hpp>
#include <p2panda/operation.hpp>

namespace p2panda::bench {

struct PooledOperation {
  PrivateKey key;
  Topic topic;
  Bytes body;
  Operation operation;
  Bytes unsigned_header;  // operation.header().encode_unsigned(): the bytes the signature covers
};

// `count` operations with Basic extensions and `body_size`-byte bodies; every third starts a log
// (seq 0), the others carry a backlink. Every one passes validate_operation and validate_topic.
std::vector<PooledOperation> make_operation_pool(std::size_t count, std::size_t body_size);

}  // namespace p2panda::bench
