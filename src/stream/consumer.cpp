#include "stream/consumer.hpp"

#include <algorithm>
#include <iterator>
#include <set>

#include "core/try.hpp"
#include "stream/causal_order.hpp"

namespace p2panda::stream {

Consumer::Consumer(store::Store& store, Topic topic, ConsumerConfig config)
    : store_(store), topic_(topic), config_(std::move(config)) {
  if (config_.cursor_name.empty()) config_.cursor_name = topic_.to_hex();
  if (config_.max_ack_pending == 0) config_.max_ack_pending = 1;
  if (config_.max_queued == 0) config_.max_queued = 1;
  cursor_ = Cursor(config_.cursor_name);
  intended_ = cursor_;
}

Result<std::size_t> Consumer::start(const StartFrom& from, Micros) {
  queue_.clear();
  in_flight_.clear();
  backlog_.clear();
  backlog_last_.clear();
  damaged_.clear();
  system_waiting_.clear();
  replay_queued_ = 0;
  replay_backlog_ = 0;
  std::optional<Timestamp> since;
  if (std::holds_alternative<FromFrontier>(from) || std::holds_alternative<FromTimestamp>(from)) {
    P2PANDA_TRY(saved, store_.query([this](store::StoreReader& reader) {
      return reader.get_cursor(config_.cursor_name);
    }));
    cursor_ = saved ? std::move(*saved) : Cursor(config_.cursor_name);
  } else {
    // Start and Cursor replace the saved cursor of this name (use another name to keep it).
    cursor_ = Cursor(config_.cursor_name);
    if (const auto* given = std::get_if<FromCursor>(&from)) {
      cursor_ = Cursor(config_.cursor_name, given->cursor.state());
    }
    P2PANDA_CHECK(store_.write([this](store::StoreWriter& writer) {
      return writer.set_cursor(cursor_);
    }));
  }
  intended_ = cursor_;
  P2PANDA_TRY(heights, store_.query([this](store::StoreReader& reader) {
    return reader.topic_heights(topic_);
  }));
  if (const auto* time = std::get_if<FromTimestamp>(&from)) {
    since = time->since;
    return queue_replay(compare(heights, {}), since);  // scan everything, filter by time
  }
  // A causal replay is put in order as a whole; any other is read a page at a time.
  if (config_.causal) return queue_replay(cursor_.unacked(heights), since);
  return backlog_replay(cursor_.unacked(heights));
}

Result<void> Consumer::offer(const Operation& operation, Micros, Source source) {
  if (!operation.body()) return ack_unbodied(operation);
  // Behind what already waits in the store, or past the bound: it waits in the store too.
  if (!backlog_.empty() || queue_.size() >= config_.max_queued) {
    return backlog_offer(operation, std::move(source));
  }
  push(Queued{operation, 0, false, std::move(source)});
  return {};
}

void Consumer::push(Queued queued) {
  if (queued.replayed && queued.attempts == 0) ++replay_queued_;
  queue_.push_back(std::move(queued));
}

Result<std::optional<Delivery>> Consumer::next_delivery(Micros now) {
  // Half empty: read the next page, so a reader that keeps up seldom waits for the store. If the
  // read fails, what is in memory still goes out; the error counts once the queue is empty.
  if (!backlog_.empty() && queue_.size() <= config_.max_queued / 2) {
    auto filled = refill();
    if (!filled && queue_.empty()) return Unexpected{std::move(filled).error()};
  }
  // A redelivery that the application acked after it was queued (by its id, or a later one of
  // its log): done with, not delivered once more.
  while (!queue_.empty() && queue_.front().attempts > 0 && acked(queue_.front().operation)) {
    for (auto& bad : queue_.front().damaged_after) damaged_.push_back(std::move(bad));
    queue_.pop_front();
  }
  if (queue_.empty()) return std::optional<Delivery>{};
  const bool automatic = config_.ack_policy == AckPolicy::Automatic;
  if (!automatic && in_flight_.size() >= config_.max_ack_pending) {
    return std::optional<Delivery>{};  // flow control: wait for acks
  }
  if (automatic) {
    // p2panda acks automatically right before delivery. If the ack cannot be saved the operation
    // stays first in the queue: delivering it unacked would break the policy, dropping it would
    // lose it until the next restart.
    const Operation& front = queue_.front().operation;
    auto extensions = node_extensions(front.header());
    if (!extensions) {
      if (queue_.front().replayed && queue_.front().attempts == 0) --replay_queued_;
      for (auto& bad : queue_.front().damaged_after) damaged_.push_back(std::move(bad));
      queue_.pop_front();  // stored operations were validated; this one cannot be delivered
      return Unexpected{std::move(extensions).error()};
    }
    P2PANDA_CHECK(advance(front.author(), extensions->log_id, front.seq_num()));
  }
  Queued next = std::move(queue_.front());
  queue_.pop_front();
  const bool replayed = next.replayed && next.attempts == 0;
  if (replayed) --replay_queued_;
  const std::uint32_t attempt = next.attempts + 1;
  if (!automatic) {
    in_flight_.insert_or_assign(
        next.operation.id(), InFlight{next.operation, attempt, now + config_.ack_wait, next.source});
  }
  return std::optional<Delivery>(Delivery{std::move(next.operation), attempt, replayed,
                                          std::move(next.source), std::move(next.damaged_after)});
}

Result<void> Consumer::advance(const PublicKey& author, const LogId& log, SeqNum seq) {
  // Built on the begun ack too (intended_), so that this write does not take it back when it
  // lands after that one; written also when only the begun ack covers it, which is not saved yet.
  Cursor advanced = intended_;
  if (!advanced.advance(author, log, seq)) {
    Cursor saved = cursor_;
    if (!saved.advance(author, log, seq)) {
      // Acked already, yet perhaps delivered again since: an operation the orderer released
      // after later entries of its log were acked. Done with it, or it is redelivered for ever.
      forget_acked(author, seq);
      return {};
    }
  }
  // Only a saved cursor counts: after a failed write the ack is not done, so the operations stay
  // in flight (and are redelivered) and a retried ack writes again instead of finding nothing to
  // advance.
  P2PANDA_CHECK(store_.write([&advanced](store::StoreWriter& writer) {
    return writer.merge_cursor(advanced);
  }));
  cursor_ = advanced;
  intended_ = std::move(advanced);
  forget_acked(author, seq);
  // A failed write leaves those unacked: harmless, as a later ack of their log acks them too.
  (void)ack_waiting_system(author, log);
  return {};
}

// An operation without a body is acked once nothing before it in its log still waits for the
// application, since acking seq n acks everything below it (a prune deletes what is below it, so
// it is acked at once); until then it waits in system_waiting_, or, past its bound, for a later
// ack of its log.
Result<void> Consumer::ack_unbodied(const Operation& operation) {
  P2PANDA_TRY(extensions, node_extensions(operation.header()));
  if (extensions.prune) return advance(operation.author(), extensions.log_id, operation.seq_num());
  note_unbodied(operation.author(), extensions.log_id, operation.seq_num());
  return ack_waiting_system(operation.author(), extensions.log_id);
}

void Consumer::note_unbodied(const PublicKey& author, const LogId& log, SeqNum seq) {
  auto& waiting = system_waiting_[{author, log}];
  if (waiting.size() < kMaxSystemWaiting) waiting.insert(seq.value());
}

void Consumer::settle_unbodied() {
  // Read from the store by a replay or the backlog, after the read, one write per log at most.
  // A failed write leaves them unacked, which a later ack of their log acks too.
  std::set<std::pair<PublicKey, LogId>> logs;
  for (const auto& operation : std::exchange(unbodied_, {})) {
    auto extensions = node_extensions(operation.header());
    if (!extensions) continue;  // validated when stored
    if (extensions->prune) {
      (void)advance(operation.author(), extensions->log_id, operation.seq_num());
      continue;
    }
    note_unbodied(operation.author(), extensions->log_id, operation.seq_num());
    logs.emplace(operation.author(), extensions->log_id);
  }
  for (const auto& [author, log] : logs) (void)ack_waiting_system(author, log);
}

bool Consumer::acked(const Operation& operation) const {
  auto extensions = node_extensions(operation.header());
  return extensions && cursor_.is_acked(operation.author(), extensions->log_id, operation.seq_num());
}

Result<void> Consumer::ack_waiting_system(const PublicKey& author, const LogId& log) {
  auto found = system_waiting_.find({author, log});
  if (found == system_waiting_.end()) return {};
  auto& seqs = found->second;
  while (!seqs.empty() && cursor_.is_acked(author, log, SeqNum(*seqs.begin()))) {
    seqs.erase(seqs.begin());
  }
  if (seqs.empty()) {
    system_waiting_.erase(found);
    return {};
  }
  std::uint32_t last = *seqs.begin();
  if (last > 0 && !cursor_.is_acked(author, log, SeqNum(last - 1))) return {};
  // The run of them that follows: one write for all.
  auto end = std::next(seqs.begin());
  while (end != seqs.end() && *end == last + 1) last = *end++;
  seqs.erase(seqs.begin(), end);
  if (seqs.empty()) system_waiting_.erase(found);
  return advance(author, log, SeqNum(last));
}

void Consumer::forget_acked(const PublicKey& author, SeqNum seq) {
  // Everything at or below seq in this author's log (one per topic) is acked now: stop tracking.
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    const Operation& operation = it->second.operation;
    if (operation.author() == author && operation.seq_num() <= seq) {
      it = in_flight_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<Consumer::PendingAck> Consumer::begin_ack(const Hash& id) {
  auto found = in_flight_.find(id);
  if (found == in_flight_.end()) return std::nullopt;
  const Operation& operation = found->second.operation;
  auto extensions = node_extensions(operation.header());
  if (!extensions) return std::nullopt;
  Cursor advanced = intended_;
  if (!advanced.advance(operation.author(), extensions->log_id, operation.seq_num())) {
    // The saved cursor acks it already (nothing is begun meanwhile): done with it (see advance).
    // Copies: forget_acked erases the entry `operation` refers to.
    const PublicKey author = operation.author();
    forget_acked(author, SeqNum(operation.seq_num()));
    return std::nullopt;
  }
  intended_ = advanced;
  return PendingAck{id, std::move(advanced), operation.author(), extensions->log_id,
                    operation.seq_num()};
}

void Consumer::end_ack(const PendingAck& pending, bool saved) {
  if (!saved) {
    intended_ = cursor_;  // as if never begun: the operation stays in flight
    return;
  }
  cursor_.advance(pending.author, pending.log, pending.seq);
  intended_.advance(pending.author, pending.log, pending.seq);
  forget_acked(pending.author, pending.seq);
  (void)ack_waiting_system(pending.author, pending.log);  // as in advance()
}

Result<void> Consumer::ack(const Hash& id) {
  std::optional<Operation> operation;
  if (auto found = in_flight_.find(id); found != in_flight_.end()) {
    operation = found->second.operation;
  } else {
    P2PANDA_TRY(stored, store_.query([&](store::StoreReader& reader) {
      return reader.get_operation(id);
    }));
    operation = std::move(stored);
  }
  if (!operation) return {};
  P2PANDA_TRY(extensions, node_extensions(operation->header()));
  if (extensions.log_id != LogId::from_topic(topic_)) {
    return fail(Errc::LogIdMismatch, "operation " + id.to_hex() + " is not in this topic");
  }
  return advance(operation->author(), extensions.log_id, operation->seq_num());
}

void Consumer::nak(const Hash& id) {
  auto found = in_flight_.find(id);
  if (found == in_flight_.end()) return;
  queue_.push_front(Queued{std::move(found->second.operation), found->second.attempts, false,
                           std::move(found->second.source)});
  in_flight_.erase(found);
}

void Consumer::handle_timeout(Micros now) {
  std::vector<Queued> redeliver;
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    if (config_.max_deliver > 0 && it->second.attempts >= config_.max_deliver) {
      exhausted_.push_back(std::move(it->second.operation));
    } else {
      redeliver.push_back(Queued{std::move(it->second.operation), it->second.attempts, false,
                                 std::move(it->second.source)});
    }
    it = in_flight_.erase(it);
  }
  // Redeliveries go first, oldest seq first within each log; on a causal topic dependencies
  // first across authors too.
  std::stable_sort(redeliver.begin(), redeliver.end(), [](const Queued& a, const Queued& b) {
    return a.operation.seq_num() < b.operation.seq_num();
  });
  if (config_.causal && redeliver.size() > 1) {
    std::map<Hash, Queued> waiting;
    std::vector<Operation> operations;
    for (auto& item : redeliver) {
      operations.push_back(item.operation);
      waiting.emplace(item.operation.id(), std::move(item));
    }
    redeliver.clear();
    for (auto& operation : in_causal_order(std::move(operations))) {
      redeliver.push_back(std::move(waiting.at(operation.id())));
    }
  }
  for (auto it = redeliver.rbegin(); it != redeliver.rend(); ++it) {
    queue_.push_front(std::move(*it));
  }
}

std::optional<Micros> Consumer::next_deadline() const {
  std::optional<Micros> earliest;
  for (const auto& [id, flight] : in_flight_) {
    if (!earliest || flight.deadline < *earliest) earliest = flight.deadline;
  }
  return earliest;
}

std::vector<Operation> Consumer::exhausted() { return std::exchange(exhausted_, {}); }

std::vector<Damaged> Consumer::damaged() { return std::exchange(damaged_, {}); }

}  // namespace p2panda::stream
