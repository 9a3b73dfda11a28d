// LogSyncSession: one side of p2panda 0.7's TopicLogSync protocol for one topic, sans-IO.
//
// Both peers run the same code: send Have (the topic's log heights), answer the remote's Have with
// PreSync{operations, bytes} and then exactly the operations the remote lacks, or with Done when
// it lacks nothing; when both Dones are through, switch to live mode, where published operations
// travel as Live messages, until either side sends Close. The caller moves bytes: it feeds
// received message payloads to handle_message(), sends what poll_transmit() returns (calling it
// only while the transport can take more, which is the backpressure: operations are read from the
// store lazily), reacts to poll_event(), and calls handle_timeout() at next_deadline().
// Received operations are reported, not stored: the caller validates and ingests them, and only
// then offers them to other sessions with publish(). Not thread-safe; time comes in as arguments.
#pragma once

#include <deque>
#include <optional>
#include <unordered_set>
#include <variant>

#include <p2panda/log_heights.hpp>

#include "store/store.hpp"

namespace p2panda::sync {

using Micros = std::uint64_t;

enum class Phase { Sync, Live };

struct SyncMetrics {
  std::uint64_t sent_operations = 0;
  std::uint64_t received_operations = 0;
  std::uint64_t sent_bytes = 0;  // header bytes + body bytes (live: header + payload size)
  std::uint64_t received_bytes = 0;
  friend bool operator==(const SyncMetrics&, const SyncMetrics&) = default;
};

// Both sides announced what they will send (the app's SyncStarted).
struct MetricsExchanged {
  std::uint64_t incoming_operations = 0;
  std::uint64_t incoming_bytes = 0;
  std::uint64_t outgoing_operations = 0;
  std::uint64_t outgoing_bytes = 0;
};
struct OperationReceived {
  Operation operation;
  Phase phase;
};
struct SyncFinished {
  SyncMetrics metrics;
};
struct LiveModeStarted {};
struct SessionFinished {
  SyncMetrics metrics;
};
struct Failed {
  Error error;
  SyncMetrics metrics;
};
using SessionEvent = std::variant<MetricsExchanged, OperationReceived, SyncFinished,
                                  LiveModeStarted, SessionFinished, Failed>;

struct SessionConfig {
  bool live_mode = true;
  // The sync phase fails when the remote sends nothing for this long (a stalled or silent peer).
  // Live mode has no such timeout: silence is normal there, and the transport's keep-alive
  // notices dead peers.
  Micros sync_timeout = 30'000'000;
  std::size_t max_message = 16 * 1024 * 1024;
  // Live operations queued for sending. When the peer cannot keep up, the session fails with
  // SyncLagging instead of dropping operations; the next session syncs what was missed.
  std::size_t max_live_queue = 1024;
  std::size_t dedup_window = 4096;  // recent operation ids remembered per session
};

class LogSyncSession {
 public:
  // Operations read from the store per query while sending a range.
  static constexpr std::size_t kLoadPage = 256;

  LogSyncSession(store::Store& store, Topic topic, SessionConfig config = {});

  // Reads the topic's log heights and queues Have. Errors: Store* (the session is then failed).
  Result<void> start(Micros now);

  void handle_message(ByteSpan payload, Micros now);
  // The transport ended: `reason` ok for a graceful close by the remote, else the error.
  void handle_closed(Result<void> reason, Micros now);
  void handle_timeout(Micros now);
  std::optional<Micros> next_deadline() const;

  // Offers a validated operation for live sending. During the sync phase it is held and sent when
  // live mode starts (unless the sync already carried it): the Have exchange happened before it
  // existed. Ignored for operations this session has seen. Never drops: see max_live_queue.
  void publish(const Operation& operation);
  // Graceful end: sends Close; finishes when the remote closes the transport.
  void close();

  std::optional<Bytes> poll_transmit();
  std::optional<SessionEvent> poll_event();

  bool finished() const { return state_ == State::Finished || state_ == State::Failed; }
  // close() was called and the remote has not closed yet.
  bool closing() const { return state_ == State::Closing; }
  Phase phase() const { return state_ == State::Live ? Phase::Live : Phase::Sync; }
  const SyncMetrics& metrics() const { return metrics_; }
  const Topic& topic() const { return topic_; }

 private:
  enum class State { Idle, Syncing, Live, Closing, Finished, Failed };
  struct Range {
    PublicKey author;
    LogId log;
    LogRange range;
  };

  void on_have(LogHeights remote);
  void on_announce(std::uint64_t operations, std::uint64_t bytes);
  void on_operation(ByteSpan header, std::optional<Bytes> body, Phase phase);
  void maybe_finish_sync();
  void fail(Error error);
  void queue(Bytes payload);
  bool remember(const Hash& id);
  Result<void> load_next_range();
  void send_live(const Operation& operation);

  store::Store& store_;
  Topic topic_;
  SessionConfig config_;
  State state_ = State::Idle;
  LogHeights local_;
  bool have_received_ = false;
  bool announced_ = false;        // remote's PreSync or first Done arrived
  bool done_sent_ = false;
  bool done_received_ = false;
  bool closed_during_sync_ = false;  // close() came before the sync phase ended
  MetricsExchanged exchanged_;
  std::deque<Range> ranges_;      // what the remote lacks, not yet read from the store
  std::deque<Operation> loaded_;  // read from the store, not yet sent
  std::deque<Bytes> outgoing_;
  std::size_t live_queued_ = 0;
  std::deque<Operation> held_for_live_;  // published during the sync phase
  std::deque<SessionEvent> events_;
  std::deque<Hash> seen_order_;
  std::unordered_set<Hash> seen_;
  Micros last_activity_ = 0;
  SyncMetrics metrics_;
};

}  // namespace p2panda::sync
