// Consumer: what a subscription needs to deliver a topic's operations at least once.
//
// A named ack cursor (p2panda 0.7's per-topic state vector: author -> log -> highest acked seq;
// acking seq n acks everything below it in that log) persisted in the store; replay of what the
// store holds beyond the cursor; and, beyond p2panda, JetStream-style delivery control inside a
// running session: redelivery after `ack_wait`, a maximum delivery count, nak (redeliver now), and
// a cap on unacked deliveries in flight. Operations without a body are system operations: never
// delivered, and acked as soon as every entry before them in their log is. The caller offers processed operations in log order, takes
// deliveries with next_delivery(), and calls handle_timeout() at next_deadline().
// Not thread-safe; time comes in as arguments. Blocking store calls (cursor writes).
#pragma once

#include <deque>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>

#include <p2panda/events.hpp>
#include <p2panda/extensions.hpp>

#include "store/store.hpp"

namespace p2panda::stream {

using Micros = std::uint64_t;

enum class AckPolicy { Automatic, Explicit };

struct ConsumerConfig {
  std::string cursor_name = {};  // empty: the topic in hex, p2panda's default name
  AckPolicy ack_policy = AckPolicy::Automatic;
  Micros ack_wait = 30'000'000;       // explicit acks: redeliver after this long (JetStream: 30 s)
  std::uint32_t max_deliver = 0;      // deliveries per operation; 0 = unlimited
  std::size_t max_ack_pending = 1000; // unacked deliveries in flight (JetStream: 1000)
  // The topic's operations go through the causal orderer: a replay hands them out dependencies
  // first, across authors. (What the orderer still holds back is left out of every replay.)
  bool causal = false;
  // Operations held in memory for delivery at most. Beyond it they stay in the store and are read
  // back a page at a time as the queue drains, so a long replay or a reader that falls behind
  // does not hold a topic's backlog in memory. (Causal replays and replays from a timestamp are
  // read whole: see start().)
  std::size_t max_queued = 1024;
};

// Where a subscription starts (p2panda's StreamFrom, plus a time).
struct FromStart {};     // everything the store holds: the cursor is reset
struct FromFrontier {};  // what the saved cursor has not acked yet (the default)
struct FromCursor {
  Cursor cursor;         // replaces the saved cursor of this name
};
struct FromTimestamp {
  Timestamp since;       // operations whose timestamp is at or after `since`; cursor untouched
};
using StartFrom = std::variant<FromStart, FromFrontier, FromCursor, FromTimestamp>;

// A stored row of a replay or the backlog that no longer decodes, with the source of its backlog range.
struct Damaged {
  store::DamagedEntry entry;
  Source source;
};

struct Delivery {
  Operation operation;
  std::uint32_t attempt = 1;  // 1 on first delivery
  bool replayed = false;      // from the replay start() queued
  Source source = FromLocalStore{};  // as offered; replays are FromLocalStore
  std::vector<Damaged> damaged_after = {};  // rows after it in the store that no longer read
};

class Consumer {
 public:
  Consumer(store::Store& store, Topic topic, ConsumerConfig config = {});
  // Not copied: backlog_last_ points into backlog_.
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Loads or resets the cursor as `from` says and queues the replay in log order (causal order
  // on a causal topic). Returns how many operations the replay delivers, or reports as
  // damaged (a stored row that no longer decodes), as the store holds them now (a prune
  // meanwhile may make it fewer: replay_done() says when it is over).
  // Errors: Store*, StoreCorrupt for a damaged saved cursor.
  Result<std::size_t> start(const StartFrom& from, Micros now);

  // Queues a newly processed operation (call in log order per author). System operations (no
  // body) are never delivered; acked here if every entry before them is, else once it is. `source` goes out with its deliveries, also when
  // the operation waited in the store (a backlog range holds operations of one source).
  // Errors: Store* (persisting that ack).
  Result<void> offer(const Operation& operation, Micros now, Source source = FromLocalStore{});

  // The next operation to hand to the application, if any and if fewer than max_ack_pending
  // deliveries are unacked. With AckPolicy::Automatic it is acked as it is handed out.
  // Errors: Store* (the automatic ack's write; reading the backlog's next page, reported only
  // once nothing in memory is left to deliver), StoreCorrupt (a stored entry that does not decode).
  Result<std::optional<Delivery>> next_delivery(Micros now);

  // Acks `id` and everything below it in its log, and persists the cursor. An id this consumer
  // never delivered is looked up in the store; unknown ids are ignored (as in p2panda).
  // Errors: Store*.
  Result<void> ack(const Hash& id);

  // The same in two steps, for a caller that awaits the cursor write instead of blocking on it.
  // begin_ack gives the cursor to save for acking `id`, an operation in flight (nullopt: not in
  // flight, or already acked by the saved cursor); end_ack says whether it was saved: only then
  // does the ack count. Later acks build on the begun one, so a cursor written after it never
  // takes it back. One begun ack at a time.
  struct PendingAck {
    Hash id;
    Cursor cursor;
    PublicKey author;
    LogId log;
    SeqNum seq;
  };
  std::optional<PendingAck> begin_ack(const Hash& id);
  void end_ack(const PendingAck& pending, bool saved);

  // Redeliver now: the operation goes back to the front of the queue. Ignored unless in flight.
  void nak(const Hash& id);

  // Redelivers operations whose ack_wait passed; gives up on those at max_deliver, reporting them
  // through exhausted().
  void handle_timeout(Micros now);
  std::optional<Micros> next_deadline() const;

  // Operations that reached max_deliver without an ack, oldest first; taking them clears the list.
  std::vector<Operation> exhausted();

  // Stored entries of the replay or backlog that no longer decode (skipped: not delivered, and
  // acked only by a later ack of their log) that are due before the next delivery, having been
  // read with nothing queued ahead of them; taking them clears the list. The others come with
  // the delivery before them (Delivery::damaged_after), where they stand in the order.
  std::vector<Damaged> damaged();

  const Cursor& cursor() const { return cursor_; }
  std::size_t pending() const { return queue_.size(); }  // in memory; not what waits in the store
  bool backlogged() const { return !backlog_.empty(); }
  // No operation of the replay is left to deliver for the first time.
  bool replay_done() const { return replay_queued_ == 0 && replay_backlog_ == 0; }
  std::size_t in_flight() const { return in_flight_.size(); }

 private:
  struct Queued {
    Operation operation;
    std::uint32_t attempts = 0;
    bool replayed = false;
    Source source = FromLocalStore{};
    std::vector<Damaged> damaged_after = {};  // stored rows after it that no longer read
  };
  // Stored operations to deliver after the queue, not read yet: the entries of one log after
  // `after` up to `until`, oldest first.
  struct Backlog {
    PublicKey author;
    LogId log;
    std::optional<SeqNum> after;
    SeqNum until;
    bool replayed = false;
    Source source = FromLocalStore{};  // of every operation in the range
  };
  struct InFlight {
    Operation operation;
    std::uint32_t attempts;
    Micros deadline;
    Source source;
  };

  Result<void> advance(const PublicKey& author, const LogId& log, SeqNum seq);
  bool acked(const Operation& operation) const;  // by the saved cursor
  // An operation without a body: acked now, or once the entries before it in its log are.
  Result<void> ack_unbodied(const Operation& operation);
  void note_unbodied(const PublicKey& author, const LogId& log, SeqNum seq);
  void settle_unbodied();  // the same for unbodied_, one write per log
  // Acks the operations without a body waiting in the log whose entries up to them are acked.
  Result<void> ack_waiting_system(const PublicKey& author, const LogId& log);
  void forget_acked(const PublicKey& author, SeqNum seq);
  Result<std::size_t> queue_replay(const LogRanges& ranges, std::optional<Timestamp> since);
  Result<std::size_t> backlog_replay(const LogRanges& ranges);
  Result<void> backlog_offer(const Operation& operation, Source source);
  Result<void> take_page(store::StoreReader& reader, const Backlog& entry, store::LogPage& page,
                         bool any_held_back, std::size_t& left, std::vector<Queued>& taken,
                         std::vector<Damaged>& leading);
  Result<void> refill();
  void push(Queued queued);

  store::Store& store_;
  Topic topic_;
  ConsumerConfig config_;
  Cursor cursor_;    // saved
  Cursor intended_;  // saved, plus a begun ack being written (begin_ack)
  std::deque<Queued> queue_;
  std::list<Backlog> backlog_;  // a list: unlike a deque, nothing allocated while it is empty
  // Each log's newest backlog entry: a live offer extends it instead of adding one.
  std::map<std::pair<PublicKey, LogId>, std::list<Backlog>::iterator> backlog_last_;
  std::size_t replay_queued_ = 0;   // replayed, never delivered, in queue_
  std::size_t replay_backlog_ = 0;  // replay entries in backlog_
  std::map<Hash, InFlight> in_flight_;
  std::vector<Operation> exhausted_;
  std::vector<Damaged> damaged_;
  // Operations without a body whose ack waits for the entries before them in their log (by seq).
  std::map<std::pair<PublicKey, LogId>, std::set<std::uint32_t>> system_waiting_;
  static constexpr std::size_t kMaxSystemWaiting = 1024;  // per log; beyond, a later ack acks them
  std::vector<Operation> unbodied_;  // read without a body by the replay or a page, to ack after
};

}  // namespace p2panda::stream
