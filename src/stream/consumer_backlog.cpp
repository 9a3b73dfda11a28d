// Consumer, the part that reads from the store: a replay (a page at a time, or whole and put in
// order) and the backlog that waits in the store behind a full queue. Rows that no longer decode
// are skipped and reported where they stand (Delivery::damaged_after, damaged()).
#include <algorithm>
#include <iterator>
#include <limits>
#include <map>

#include "core/try.hpp"
#include "stream/causal_order.hpp"
#include "stream/consumer.hpp"

namespace p2panda::stream {
namespace {

// Whether the causal orderer holds `id` back: it is delivered when released, so neither a replay
// nor a backlog page takes it. Asked per entry only while anything is held back at all.
Result<bool> held_back(store::StoreReader& reader, bool any_held_back, const Hash& id) {
  if (!any_held_back) return false;
  P2PANDA_TRY(waiting, reader.orderer_waiting_for(id));
  return !waiting.empty();
}

// log_page's limit for a range read whole.
constexpr std::size_t kWholeRange = std::numeric_limits<std::int64_t>::max();

// Walks a page in seq order: `on_damaged` for each row that no longer decodes, `on_entry` for
// each entry, each where it stands among the other.
template <class OnEntry, class OnDamaged>
Result<void> walk_page(store::LogPage& page, OnEntry on_entry, OnDamaged on_damaged) {
  auto bad = page.damaged.begin();
  for (auto& operation : page.entries) {
    for (; bad != page.damaged.end() && bad->seq < operation.seq_num(); ++bad) {
      on_damaged(std::move(*bad));
    }
    P2PANDA_CHECK(on_entry(operation));
  }
  for (; bad != page.damaged.end(); ++bad) on_damaged(std::move(*bad));
  return {};
}

}  // namespace

Result<std::size_t> Consumer::backlog_replay(const LogRanges& ranges) {
  std::vector<Backlog> entries;
  std::size_t total = 0;
  bool topic_held_back = false;
  P2PANDA_CHECK(store_.query([&](store::StoreReader& reader) -> Result<void> {
    entries.clear();
    total = 0;
    // What the orderer holds back is left out of a replay, so the count would be wrong, and an
    // entry released between now and its page would come twice (read, and offered on release):
    // then the replay is read whole, checked entry by entry (queue_replay).
    P2PANDA_TRY(pending, reader.orderer_holds(LogId::from_topic(topic_)));
    topic_held_back = pending;
    if (topic_held_back) return {};
    for (const auto& [author, logs] : ranges) {
      for (const auto& [log, range] : logs) {
        P2PANDA_TRY(count, reader.bodies_in(author, log, range.after, range.until));
        if (count == 0) {
          // Nothing to deliver; read anyway if anything is there: what has no body is acked
          // once read (settle_unbodied).
          P2PANDA_TRY(size, reader.log_size(author, log, range.after, range.until));
          if (size.operations == 0) continue;
        }
        total += count;
        // One with nothing to deliver is read for its acks only: the replay does not wait for it,
        // or ReplayEnded could come after live events queued behind it.
        entries.push_back(Backlog{author, log, range.after, range.until, count > 0});
      }
    }
    return {};
  }));
  if (topic_held_back) return queue_replay(ranges, std::nullopt);
  // Not in backlog_last_: live offers are never merged into the replay's entries.
  for (auto& entry : entries) backlog_.push_back(std::move(entry));
  replay_backlog_ = static_cast<std::size_t>(std::count_if(
      backlog_.begin(), backlog_.end(), [](const Backlog& entry) { return entry.replayed; }));
  return total;
}

Result<std::size_t> Consumer::queue_replay(const LogRanges& ranges,
                                           std::optional<Timestamp> since) {
  std::vector<Operation> replay;
  // Damaged rows (skipped, reported: see take_page) after the entry of their log read before
  // them, or `leading` when none was. They follow that entry wherever the order puts it.
  std::map<Hash, std::vector<Damaged>> damaged_after;
  std::vector<Damaged> leading;
  // One read transaction: what is held back and what is stored must agree, or an operation
  // released in between could come before a dependency.
  P2PANDA_CHECK(store_.query([&](store::StoreReader& reader) -> Result<void> {
    replay.clear();
    damaged_after.clear();
    leading.clear();
    // Held back in this session or one where the topic was causal: left out (held_back).
    P2PANDA_TRY(any_held_back, reader.orderer_any_pending());
    for (const auto& [author, logs] : ranges) {
      for (const auto& [log, range] : logs) {
        P2PANDA_TRY(page, reader.log_page(author, log, range.after, range.until, kWholeRange));
        std::optional<Hash> previous;  // the log's last entry read into the replay
        auto walked = walk_page(
            page,
            [&](Operation& entry) -> Result<void> {
              P2PANDA_TRY(waits, held_back(reader, any_held_back, entry.id()));
              if (waits) return {};
              previous = entry.id();
              replay.push_back(std::move(entry));
              return {};
            },
            [&](store::DamagedEntry bad) {
              auto& into = previous ? damaged_after[*previous] : leading;
              into.push_back(Damaged{std::move(bad), FromLocalStore{}});
            });
        if (!walked) return walked;
      }
    }
    return {};
  }));
  // Log order per author is not causal order across authors.
  if (config_.causal) replay = in_causal_order(std::move(replay));
  // Counted with the deliveries: the replay reports each of them instead (see start()).
  std::size_t reported = leading.size();
  for (const auto& [id, after] : damaged_after) reported += after.size();
  for (auto& bad : leading) damaged_.push_back(std::move(bad));
  std::size_t queued = 0;
  for (auto& entry : replay) {
    // Reported after the last entry queued so far: this one, unless it is not delivered.
    std::vector<Damaged> after;
    if (auto found = damaged_after.find(entry.id()); found != damaged_after.end()) {
      after = std::move(found->second);
    }
    bool deliver = entry.body().has_value();  // system operations are never delivered
    if (!deliver) unbodied_.push_back(entry);
    if (deliver && since) {
      auto extensions = node_extensions(entry.header());
      deliver = extensions && extensions->timestamp >= *since;
    }
    if (deliver) {
      push(Queued{std::move(entry), 0, true});
      ++queued;
    }
    auto& into = queued > 0 ? queue_.back().damaged_after : damaged_;
    for (auto& bad : after) into.push_back(std::move(bad));
  }
  settle_unbodied();
  return queued + reported;
}

Result<void> Consumer::backlog_offer(const Operation& operation, Source source) {
  auto extensions = node_extensions(operation.header());
  if (!extensions) {
    push(Queued{operation, 0, false, std::move(source)});  // validated when stored; not lost for want of its log id
    return {};
  }
  auto key = std::make_pair(operation.author(), extensions->log_id);
  const std::uint64_t seq = operation.seq_num().value();
  if (auto last = backlog_last_.find(key); last != backlog_last_.end()) {
    Backlog& entry = *last->second;
    // On a causal topic only the newest entry grows: the order of arrival is causal order.
    const bool may_grow = !config_.causal || std::next(last->second) == backlog_.end();
    if (may_grow && entry.source == source && std::uint64_t{entry.until.value()} + 1 == seq) {
      entry.until = operation.seq_num();
      return {};
    }
  }
  const std::optional<SeqNum> after =
      seq == 0 ? std::nullopt : std::optional<SeqNum>(SeqNum(static_cast<std::uint32_t>(seq - 1)));
  backlog_.push_back(Backlog{operation.author(), extensions->log_id, after, operation.seq_num(),
                             false, std::move(source)});
  backlog_last_[std::move(key)] = std::prev(backlog_.end());
  return {};
}

// Reads backlog entries, oldest first, until the queue is full again. All or nothing: the
// backlog moves only once the read transaction succeeded, so a failed read loses nothing.
Result<void> Consumer::refill() {
  if (queue_.size() >= config_.max_queued) return {};
  const std::size_t room = config_.max_queued - queue_.size();
  std::vector<Queued> taken;
  std::vector<Damaged> leading;  // damaged rows before the first entry taken
  std::size_t finished = 0;                // whole entries read
  std::optional<SeqNum> partial;           // how far into the next one, if into it at all
  P2PANDA_CHECK(store_.query([&](store::StoreReader& reader) -> Result<void> {
    taken.clear();
    leading.clear();
    unbodied_.clear();
    finished = 0;
    partial.reset();
    P2PANDA_TRY(any_held_back, reader.orderer_any_pending());
    std::size_t left = room;
    for (auto next = backlog_.begin(); next != backlog_.end() && left > 0; ++next) {
      const Backlog& entry = *next;
      std::optional<SeqNum> after = entry.after;
      bool done = false;
      while (left > 0 && !done) {
        const std::size_t limit = left;
        P2PANDA_TRY(page, reader.log_page(entry.author, entry.log, after, entry.until, limit));
        done = page.rows < limit;
        if (page.last) after = page.last;
        if (auto took = take_page(reader, entry, page, any_held_back, left, taken, leading); !took) {
          return took;
        }
        if (after && *after >= entry.until) done = true;
      }
      if (!done) {
        partial = after;
        break;
      }
      ++finished;
    }
    return {};
  }));
  for (std::size_t i = 0; i < finished; ++i) {
    const Backlog& entry = backlog_.front();
    if (entry.replayed) --replay_backlog_;
    auto last = backlog_last_.find(std::make_pair(entry.author, entry.log));
    if (last != backlog_last_.end() && last->second == backlog_.begin()) backlog_last_.erase(last);
    backlog_.pop_front();
  }
  if (partial) backlog_.front().after = partial;
  // Behind what is queued; not on a redelivery, which the replay's end does not wait for.
  const bool behind_queued = !queue_.empty() && queue_.back().attempts == 0;
  auto& before = behind_queued ? queue_.back().damaged_after : damaged_;
  for (auto& bad : leading) before.push_back(std::move(bad));
  for (auto& queued : taken) push(std::move(queued));
  settle_unbodied();
  return {};
}

// Queues what a page holds to deliver. A damaged row is skipped, not an error: failing the read
// would stop this backlog, and every entry behind it, for good. It goes with the entry queued
// before it (or into `leading`), so that it is reported where it stands in the delivery order.
Result<void> Consumer::take_page(store::StoreReader& reader, const Backlog& entry,
                                 store::LogPage& page, bool any_held_back, std::size_t& left,
                                 std::vector<Queued>& taken, std::vector<Damaged>& leading) {
  return walk_page(
      page,
      [&](Operation& operation) -> Result<void> {
        P2PANDA_TRY(waits, held_back(reader, any_held_back, operation.id()));
        if (waits) return {};
        if (!operation.body()) {  // pruned meanwhile, or a system operation: acked, not delivered
          unbodied_.push_back(std::move(operation));
          return {};
        }
        taken.push_back(Queued{std::move(operation), 0, entry.replayed, entry.source});
        --left;
        return {};
      },
      [&](store::DamagedEntry bad) {
        auto& into = taken.empty() ? leading : taken.back().damaged_after;
        into.push_back(Damaged{std::move(bad), entry.source});
      });
}

}  // namespace p2panda::stream
