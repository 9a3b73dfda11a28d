#include "stream/ingest.hpp"

#include "core/try.hpp"

namespace p2panda::stream {
namespace {

IngestResult rejected(Error reason) { return IngestResult{Rejected{std::move(reason)}, {}}; }

}  // namespace

Result<NodeExtensions> check(const Operation& operation, const Topic& topic) {
  P2PANDA_TRY(extensions, node_extensions(operation.header()));
  P2PANDA_CHECK(validate_operation(operation));
  P2PANDA_CHECK(validate_topic(operation.header(), topic));
  return extensions;
}

Result<IngestResult> ingest(store::StoreWriter& writer, const Operation& operation,
                            const Topic& topic, const NodeExtensions& extensions,
                            const IngestConfig& config) {
  P2PANDA_TRY(exists, writer.has_operation(operation.id()));
  if (exists) return IngestResult{AlreadyExists{}, {}};

  const Header& header = operation.header();
  const LogId& log = extensions.log_id;
  P2PANDA_TRY(latest, writer.latest_entry(operation.author(), log));
  if (latest && header.seq_num < latest->seq_num()) {
    P2PANDA_TRY(lowest, writer.lowest_seq(operation.author(), log));
    if (lowest && header.seq_num < *lowest) return IngestResult{Obsolete{}, {}};
  }
  if (extensions.prune && latest && header.seq_num <= latest->seq_num()) {
    // p2panda accepts such a stale prune operation and so forks the log; we refuse it.
    return rejected(Error(Errc::SeqNumNonIncremental,
                          "prune operation at seq " + std::to_string(header.seq_num.value()) +
                              " is not above the log's latest entry " +
                              std::to_string(latest->seq_num().value())));
  }
  if (auto linked = validate_prunable_backlink(latest ? &*latest : nullptr, header,
                                               extensions.prune);
      !linked) {
    return rejected(std::move(linked).error());
  }
  // What the orderer waits for: the recorded dependencies, and the log's previous entry, so that
  // a log is never released out of its own order. Not for a prune: it deletes that entry.
  const bool follows_stored =
      !extensions.prune && latest && header.backlink && *header.backlink == latest->id();
  std::vector<Hash> waits_for;
  bool held_back = false;  // it will be: refuse it before writing anything if there is no room
  bool any_held = false;   // (not causal) the orderer holds anything at all
  if (config.causal) {
    waits_for = extensions.dependencies;
    if (follows_stored) waits_for.push_back(*header.backlink);
    P2PANDA_TRY(missing, missing_dependencies(writer, operation.id(), waits_for));
    held_back = !missing.empty();
  } else {
    P2PANDA_TRY(held, writer.orderer_any_pending());
    any_held = held;
    // The topic was causal in an earlier session, which held back the previous entry of this
    // log: this one waits behind it, so that the log is still delivered (and acked) in order.
    if (any_held && follows_stored) {
      P2PANDA_TRY(waiting, writer.orderer_waiting_for(*header.backlink));
      held_back = !waiting.empty();
    }
  }
  if (held_back) {
    if (auto room = room_to_hold_back(writer, log, config.orderer); !room) {
      if (room.error().code() != Errc::OrdererFull) return Unexpected{std::move(room).error()};
      return rejected(std::move(room).error());
    }
  }

  P2PANDA_TRY(inserted, writer.insert_operation(operation, log));
  (void)inserted;  // has_operation said no, and we are inside the only writer's transaction
  P2PANDA_CHECK(writer.associate(topic, operation.author(), log));
  IngestResult result{Inserted{}, {}};
  if (extensions.prune) {
    P2PANDA_TRY(count, writer.prune_entries(operation.author(), log, header.seq_num));
    result.outcome = Pruned{count};
  }
  if (!config.causal) {
    if (!any_held) {  // the usual case
      result.released.push_back(operation.id());
      return result;
    }
    if (held_back) {  // behind its log's previous entry (above)
      const Hash previous = *header.backlink;
      P2PANDA_CHECK(writer.orderer_add_pending(operation.id(), log, {&previous, 1}));
      result.outcome = Pending{{previous}};
      return result;
    }
    // Held back operations may wait for this one. It will not come again: release them now, or
    // they would wait for ever.
    P2PANDA_TRY(awaited, writer.orderer_awaited(operation.id()));
    if (!awaited) {
      result.released.push_back(operation.id());
      return result;
    }
    P2PANDA_TRY(released, release(writer, operation.id()));
    result.released = std::move(released);
    return result;
  }
  P2PANDA_TRY(ordered, order(writer, operation.id(), log, waits_for, config.orderer));
  if (!ordered.missing.empty()) result.outcome = Pending{std::move(ordered.missing)};
  result.released = std::move(ordered.released);
  return result;
}

Result<IngestResult> append_own(store::StoreWriter& writer, OwnChain& chain,
                                const Operation& operation, const Topic& topic, const LogId& log,
                                bool associate) {
  auto head = chain.heads.find(log);
  if (head == chain.heads.end()) {
    P2PANDA_TRY(latest, writer.latest_id(operation.author(), log));
    head = chain.heads.emplace(log, latest).first;
  }
  if (head->second != operation.header().backlink) {
    return rejected(Error(Errc::BacklinkMismatch,
                          "our own operation at seq " +
                              std::to_string(operation.seq_num().value()) +
                              " does not follow the log's latest entry (an earlier write failed)"));
  }
  P2PANDA_CHECK(writer.append_operation(operation, log));
  if (associate) P2PANDA_CHECK(writer.associate(topic, operation.author(), log));
  head->second = operation.id();
  return IngestResult{Inserted{}, {operation.id()}};
}

Result<IngestResult> check_and_ingest(store::StoreWriter& writer, const Operation& operation,
                                      const Topic& topic, const IngestConfig& config) {
  auto extensions = check(operation, topic);
  if (!extensions) return rejected(std::move(extensions).error());
  return ingest(writer, operation, topic, *extensions, config);
}

const char* outcome_name(const IngestOutcome& outcome) {
  static constexpr const char* kNames[] = {"Inserted", "AlreadyExists", "Pruned",
                                           "Pending",  "Rejected",      "Obsolete"};
  return kNames[outcome.index()];
}

}  // namespace p2panda::stream
