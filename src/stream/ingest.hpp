// Ingest: the system-level processor every operation passes before anyone sees it. check()
// applies the rules that need no store (signature, payload, extensions, topic) and can run on any
// thread; ingest() applies the log rules and, in one transaction, inserts the operation, links it
// to its topic, prunes the log when the operation says so, and runs the causal orderer.
// Outcomes are values; only store failures are errors (and roll the job back).
#pragma once

#include <map>

#include <variant>

#include <p2panda/extensions.hpp>

#include "store/store.hpp"
#include "stream/orderer.hpp"

namespace p2panda::stream {

struct Inserted {};
struct AlreadyExists {};
struct Pruned {
  std::uint64_t count = 0;  // entries deleted below this operation
};
struct Pending {
  std::vector<Hash> missing;  // stored, held back by the orderer until these are released
};
struct Rejected {
  Error reason;
};
// Below the log's prune point: its entries there were deleted on purpose, so this one (from a
// peer that had not pruned yet) is not wanted. Nothing is written; not an error.
struct Obsolete {};
using IngestOutcome = std::variant<Inserted, AlreadyExists, Pruned, Pending, Rejected, Obsolete>;

struct IngestResult {
  IngestOutcome outcome;
  // Operations now ready for delivery, in order: this one unless held back, plus any held-back
  // operations it unblocked (causal topics).
  std::vector<Hash> released;
};

struct IngestConfig {
  // Run every operation through the causal orderer (multi-writer causal streams).
  bool causal = false;
  OrdererConfig orderer{};
};

// Store-free checks. Errors: every validate_operation and validate_topic error, Extensions*,
// TooManyDependencies.
Result<NodeExtensions> check(const Operation& operation, const Topic& topic);

// The log rules and the writes, inside a store write job. REQUIRES: check() passed for
// (operation, topic) and returned `extensions`. Errors: Store* only.
Result<IngestResult> ingest(store::StoreWriter& writer, const Operation& operation,
                            const Topic& topic, const NodeExtensions& extensions,
                            const IngestConfig& config);

// The heads that a run of append_own calls in one write job has reached, per log.
struct OwnChain {
  std::map<LogId, std::optional<Hash>> heads;
};

// The node's own new operation on a topic without causal order, not a prune: signed a moment ago
// from its log's head, so signature, payload and extensions need no check. What is checked is
// the one thing that can be wrong, the chain: its backlink must be the log's latest entry (read
// once per log and job, then followed in `chain`), so that when an earlier write failed, the
// operations chained on it are Rejected (BacklinkMismatch) instead of leaving a gap. Inserted,
// and linked to its topic when `associate`. The publish path's fast lane (docs/node.md).
// Errors: Store*.
Result<IngestResult> append_own(store::StoreWriter& writer, OwnChain& chain,
                                const Operation& operation, const Topic& topic, const LogId& log,
                                bool associate);

// check() then ingest(), with a failed check reported as Rejected.
Result<IngestResult> check_and_ingest(store::StoreWriter& writer, const Operation& operation,
                                      const Topic& topic, const IngestConfig& config);

const char* outcome_name(const IngestOutcome& outcome);

}  // namespace p2panda::stream
