// TopicStream: one subscription's state on the node thread. It owns a Consumer (the ack cursor,
// replay, redelivery) and the queue of events waiting for the application. Processed events are
// moved from the Consumer into the queue only while fewer than `window` of them wait, so an
// application that does not read does not make the node ack anything. Automatic acks happen when
// the application asks for the next event after a Processed one, so a crash while it handles an
// operation delivers that operation again (at-least-once) and nothing is acked unseen.
// Node thread only.
#pragma once

#include <deque>
#include <memory>

#include <p2panda/stream_raw.hpp>

#include "node/own_log.hpp"
#include "node/signal.hpp"
#include "store/store.hpp"
#include "stream/consumer.hpp"

namespace p2panda::detail {

class TopicStream : public std::enable_shared_from_this<TopicStream> {
 public:
  TopicStream(store::Store& store, Topic topic, StreamOptions options, AckPolicy policy,
              std::size_t window);

  const Topic& topic() const { return topic_; }
  const StreamOptions& options() const { return options_; }
  // Our log in this topic (set by the engine when it opens the stream; any thread after that).
  void attach_own_log(std::shared_ptr<OwnLog> own) { own_log_ = std::move(own); }
  const std::shared_ptr<OwnLog>& own_log() const { return own_log_; }

  // Loads the cursor and queues the replay; emits ReplayStarted (when there is something to
  // replay) or ReplayFailed.
  void start(std::uint64_t now);
  // A newly processed operation of this topic, in log order per author.
  void offer(const Operation& operation, const Source& source, std::uint64_t now);
  void push(RawEvent event);

  // Moves deliveries into the queue and handles redelivery deadlines; call after any change.
  void pump(std::uint64_t now);
  std::optional<std::uint64_t> next_deadline() const { return consumer_.next_deadline(); }

  std::optional<RawEvent> pop();
  // Undoes pop() of `event` for a caller that was cancelled before it got it: it goes first again,
  // and under automatic acks it is not the one to ack at the next settle.
  void give_back(RawEvent event);
  // Automatic acks: acks the Processed event handed out last, now that the application asks for
  // more (it is done with it). Call at the start of every next().
  void settle();
  // The same without blocking on the cursor write (RawSubscription's next): begin_settle begins
  // the ack of the operation handed out last (nullopt: nothing to write); the caller saves the
  // cursor and calls end_settle with the outcome.
  std::optional<stream::Consumer::PendingAck> begin_settle();
  void end_settle(const stream::Consumer::PendingAck& pending, const Result<void>& saved);
  // An explicit ack without blocking: begins it if `id` is in flight (nullopt otherwise: use
  // ack(), which also finds operations delivered before a restart); end_ack with the outcome.
  std::optional<stream::Consumer::PendingAck> begin_ack(const Hash& id);
  void end_ack(const stream::Consumer::PendingAck& pending, const Result<void>& saved);
  // A begun ack (settle or explicit) is being written: the Consumer takes one at a time, so the
  // next waits on changed() until this is false.
  bool ack_writing() const { return ack_writing_; }
  Result<void> ack(const Hash& id);
  void nak(const Hash& id, std::uint64_t now);

  // Ends the stream: waiters wake and see `closed()`.
  void close();
  bool closed() const { return closed_; }
  node::Signal& changed() { return changed_; }
  std::uint64_t delivered() const { return delivered_; }

 private:
  void end_replay();  // ReplayEnded, once nothing of the replay is left to deliver
  void report(std::vector<stream::Damaged> damaged_entries);
  store::Store& store_;
  std::shared_ptr<OwnLog> own_log_;
  Topic topic_;
  StreamOptions options_;
  std::size_t window_;
  bool automatic_;
  std::optional<Hash> handed_;  // automatic acks: delivered, acked at the next settle()
  std::deque<Hash> unsettled_;  // automatic acks whose cursor write failed: tried again, in order
  stream::Consumer consumer_;
  std::deque<RawEvent> events_;
  std::size_t processed_waiting_ = 0;  // Processed events in events_
  bool replaying_ = false;  // ReplayStarted went out, ReplayEnded not yet
  bool delivery_failing_ = false;  // the last next_delivery failed (AckFailed went out once)
  std::uint64_t delivered_ = 0;
  bool closed_ = false;
  bool ack_writing_ = false;
  node::Signal changed_;
};

}  // namespace p2panda::detail
