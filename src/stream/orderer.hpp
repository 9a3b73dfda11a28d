// The causal orderer: holds an operation back until every operation it depends on has been
// released, then releases it and, in arrival order, every held-back operation that was waiting
// only for it. State lives in the store (orderer_ready, orderer_pending) and changes in the same
// transaction as ingest, so a crash never releases an operation twice or loses a held-back one.
// Pure logic over StoreWriter: runs inside a store write job.
#pragma once

#include <span>
#include <vector>

#include "store/store.hpp"

namespace p2panda::stream {

struct OrdererConfig {
  // Operations of one topic that may wait for missing dependencies at once. Past it, new
  // operations of that topic that would wait are refused (OrdererFull) rather than stored
  // (also on a topic no longer causal, for entries behind one held back earlier): their author's peers still have them, so sync offers them again once the backlog
  // drains. Per topic, so that a topic whose dependencies never arrive (a peer that references
  // operations nobody has) does not stop the causal delivery of every other topic.
  std::uint64_t max_pending = 10'000;
};

struct OrderResult {
  std::vector<Hash> missing;   // non-empty: held back, waiting for these
  std::vector<Hash> released;  // in order: the operation itself, then dependants it unblocked
};

// The dependencies of `id` that have not been released yet (excluding `id` itself). An operation
// stored without going through the orderer (the topic was not causal then) counts as released.
Result<std::vector<Hash>> missing_dependencies(store::StoreReader& reader, const Hash& id,
                                               std::span<const Hash> dependencies);

// Whether `log` (a topic's) may hold back one more operation. Errors: OrdererFull, Store*.
Result<void> room_to_hold_back(store::StoreReader& reader, const LogId& log,
                               const OrdererConfig& config);

// Releases or holds back `id`, an operation of `log`. Calling it again for a released id
// releases nothing. Errors: OrdererFull (nothing written), Store*.
Result<OrderResult> order(store::StoreWriter& writer, const Hash& id, const LogId& log,
                          std::span<const Hash> dependencies, const OrdererConfig& config);

// Releases `id`, whose dependencies are all released and which is not released yet (callers
// check orderer_is_ready), and then what waited only for it. Returns the released ids, `id`
// first. Errors: Store*.
Result<std::vector<Hash>> release(store::StoreWriter& writer, const Hash& id);

// Releases what waits only for operations that count as released now but never went through the
// orderer (stored while the topic was not causal, by this or an older version). Run at start,
// before any stream opens: the released ones reach subscribers through replay. Returns how many
// were released. Errors: Store*.
Result<std::size_t> release_settled(store::StoreWriter& writer);

}  // namespace p2panda::stream
