#include "sync/log_sync.hpp"

#include <algorithm>
#include <limits>

#include "core/try.hpp"
#include "sync/messages.hpp"

namespace p2panda::sync {
namespace {

std::uint32_t clamp32(std::uint64_t value) {
  return static_cast<std::uint32_t>(
      std::min<std::uint64_t>(value, std::numeric_limits<std::uint32_t>::max()));
}

Error violation(const std::string& what) { return Error(Errc::SyncProtocolViolation, what); }

}  // namespace

LogSyncSession::LogSyncSession(store::Store& store, Topic topic, SessionConfig config)
    : store_(store), topic_(topic), config_(config) {}

Result<void> LogSyncSession::start(Micros now) {
  last_activity_ = now;
  auto heights = store_.query([this](store::StoreReader& reader) {
    return reader.topic_heights(topic_);
  });
  if (!heights) {
    fail(heights.error());
    return Unexpected{std::move(heights).error()};
  }
  local_ = std::move(*heights);
  state_ = State::Syncing;
  queue(*encode_topic_log_sync(Have{local_}));
  return {};
}

void LogSyncSession::queue(Bytes payload) { outgoing_.push_back(std::move(payload)); }

bool LogSyncSession::remember(const Hash& id) {
  if (!seen_.insert(id).second) return false;
  seen_order_.push_back(id);
  if (seen_order_.size() > config_.dedup_window) {
    seen_.erase(seen_order_.front());
    seen_order_.pop_front();
  }
  return true;
}

void LogSyncSession::fail(Error error) {
  if (finished()) return;
  state_ = State::Failed;
  outgoing_.clear();
  loaded_.clear();
  ranges_.clear();
  events_.push_back(Failed{std::move(error), metrics_});
}

void LogSyncSession::handle_message(ByteSpan payload, Micros now) {
  if (finished()) return;
  last_activity_ = now;
  if (payload.size() > config_.max_message) {
    fail(Error(Errc::FrameTooLarge, "message of " + std::to_string(payload.size()) +
                                        " bytes exceeds the maximum of " +
                                        std::to_string(config_.max_message)));
    return;
  }
  auto message = decode_topic_log_sync(payload);
  if (!message) {
    fail(std::move(message).error());
    return;
  }
  if (state_ == State::Idle) {
    fail(violation("message before the session started"));
    return;
  }
  // After our Close the remote still sends what it queued before it saw it: while we closed
  // during the sync phase, its sync messages stay valid and its operations are taken, but we
  // answer nothing.
  const bool syncing =
      state_ == State::Syncing || (state_ == State::Closing && closed_during_sync_);
  std::visit(
      [&](auto& value) {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, Have>) {
          if (!syncing || have_received_) return fail(violation("unexpected Have"));
          if (state_ == State::Closing) {
            have_received_ = true;
            return;
          }
          on_have(std::move(value.heights));
        } else if constexpr (std::is_same_v<T, PreSync>) {
          if (!syncing || !have_received_ || announced_) return fail(violation("unexpected PreSync"));
          on_announce(value.total_operations, value.total_bytes);
        } else if constexpr (std::is_same_v<T, SyncOperation>) {
          // In live mode we also take operations as SyncOperation: that is how operations whose
          // extensions have no postcard form (our Causal variant) travel live.
          if (syncing && (!announced_ || done_received_)) {
            return fail(violation("Operation outside the announced sync"));
          }
          on_operation(value.header, std::move(value.body), syncing ? Phase::Sync : Phase::Live);
        } else if constexpr (std::is_same_v<T, SyncDone>) {
          if (!syncing || !have_received_ || done_received_) return fail(violation("unexpected Done"));
          if (!announced_) on_announce(0, 0);
          done_received_ = true;
          // Closing: what follows the remote's Done is live (it may have seen ours).
          if (state_ == State::Closing) closed_during_sync_ = false;
          maybe_finish_sync();
        } else if constexpr (std::is_same_v<T, Live>) {
          if (syncing || (state_ != State::Live && state_ != State::Closing)) {
            return fail(violation("Live before the sync finished"));
          }
          on_operation(value.header.encode(), std::move(value.body), Phase::Live);
        } else if constexpr (std::is_same_v<T, Close>) {
          // The remote ends the session; it closes the transport once it sees we are done.
          state_ = State::Finished;
          outgoing_.clear();
          events_.push_back(SessionFinished{metrics_});
        }
      },
      *message);
}

void LogSyncSession::on_have(LogHeights remote) {
  have_received_ = true;
  const LogRanges needs = compare(local_, remote);
  std::uint64_t operations = 0, bytes = 0;
  // One store job for every range: a topic may have thousands of logs.
  auto sized = store_.query([&](store::StoreReader& reader) -> Result<void> {
    for (const auto& [author, logs] : needs) {
      for (const auto& [log, range] : logs) {
        auto size = reader.log_size(author, log, range.after, range.until);
        if (!size) return Unexpected{std::move(size).error()};
        if (size->operations == 0) continue;  // pruned away meanwhile
        operations += size->operations;
        bytes += size->bytes;
        ranges_.push_back(Range{author, log, range});
      }
    }
    return {};
  });
  if (!sized) return fail(std::move(sized).error());
  exchanged_.outgoing_operations = operations;
  exchanged_.outgoing_bytes = bytes;
  if (operations == 0) {
    queue(*encode_topic_log_sync(SyncDone{}));
    done_sent_ = true;
  } else {
    queue(*encode_topic_log_sync(PreSync{clamp32(operations), clamp32(bytes)}));
  }
  maybe_finish_sync();
}

void LogSyncSession::on_announce(std::uint64_t operations, std::uint64_t bytes) {
  announced_ = true;
  exchanged_.incoming_operations = operations;
  exchanged_.incoming_bytes = bytes;
  // Closing already: no SyncStarted for a topic the application just dropped (its SyncEnded
  // still reports what arrived).
  if (state_ != State::Closing) events_.push_back(exchanged_);
}

void LogSyncSession::on_operation(ByteSpan header, std::optional<Bytes> body, Phase phase) {
  std::optional<Body> owned;
  if (body) owned = Body(std::move(*body));
  auto operation = Operation::decode(header, std::move(owned));
  if (!operation) return fail(std::move(operation).error());
  metrics_.received_operations += 1;
  metrics_.received_bytes += operation->header_bytes().size() +
                             (phase == Phase::Live ? operation->header().payload_size
                                                   : (operation->body() ? operation->body()->size() : 0));
  if (!remember(operation->id())) return;  // a duplicate: already reported
  events_.push_back(OperationReceived{std::move(*operation), phase});
}

void LogSyncSession::maybe_finish_sync() {
  if (state_ != State::Syncing || !done_sent_ || !done_received_) return;
  events_.push_back(SyncFinished{metrics_});
  if (config_.live_mode) {
    state_ = State::Live;
    events_.push_back(LiveModeStarted{});
    while (!held_for_live_.empty() && state_ == State::Live) {
      send_live(held_for_live_.front());
      held_for_live_.pop_front();
    }
    held_for_live_.clear();
  } else {
    close();
  }
}

// A page of the next range: a long log is sent without ever being held whole. The range moves
// on only once the page was read, so a failed read loses nothing (the session fails anyway).
Result<void> LogSyncSession::load_next_range() {
  Range& range = ranges_.front();
  P2PANDA_TRY(page, store_.query([&](store::StoreReader& reader) {
    return reader.log_page(range.author, range.log, range.range.after, range.range.until,
                           kLoadPage);
  }));
  if (page.rows < kLoadPage || !page.last || *page.last >= range.range.until) {
    ranges_.pop_front();
  } else {
    range.range.after = page.last;
  }
  // A damaged row is left out and the rest still goes: failing here would fail every session
  // of the topic with every peer. The peer takes what follows it if it has that entry already;
  // our subscriptions report it (ProcessingFailed).
  for (auto& entry : page.entries) loaded_.push_back(std::move(entry));
  return {};
}

std::optional<Bytes> LogSyncSession::poll_transmit() {
  if (outgoing_.empty() && state_ == State::Syncing && !done_sent_ && have_received_) {
    while (loaded_.empty() && !ranges_.empty()) {
      if (auto loaded = load_next_range(); !loaded) {
        fail(std::move(loaded).error());
        return std::nullopt;
      }
    }
    if (!loaded_.empty()) {
      Operation operation = std::move(loaded_.front());
      loaded_.pop_front();
      remember(operation.id());
      metrics_.sent_operations += 1;
      metrics_.sent_bytes +=
          operation.header_bytes().size() + (operation.body() ? operation.body()->size() : 0);
      std::optional<Bytes> body;
      if (operation.body()) body = operation.body()->bytes();
      queue(*encode_topic_log_sync(SyncOperation{operation.header_bytes(), std::move(body)}));
    } else {
      queue(*encode_topic_log_sync(SyncDone{}));
      done_sent_ = true;
      maybe_finish_sync();
    }
  }
  if (outgoing_.empty()) return std::nullopt;
  Bytes next = std::move(outgoing_.front());
  outgoing_.pop_front();
  if (live_queued_ > 0) --live_queued_;
  return next;
}

void LogSyncSession::publish(const Operation& operation) {
  if (state_ == State::Idle || state_ == State::Syncing) {
    if (held_for_live_.size() >= config_.max_live_queue) {
      return fail(Error(Errc::SyncLagging, "too many operations published during the sync phase; "
                                           "the next session syncs them"));
    }
    held_for_live_.push_back(operation);
    return;
  }
  if (state_ != State::Live) return;
  send_live(operation);
}

void LogSyncSession::send_live(const Operation& operation) {
  if (!remember(operation.id())) return;
  if (live_queued_ >= config_.max_live_queue) {
    return fail(Error(Errc::SyncLagging, "the peer does not keep up with live operations; "
                                         "the next session syncs what it missed"));
  }
  std::optional<Bytes> body;
  if (operation.body()) body = operation.body()->bytes();
  auto live = encode_topic_log_sync(Live{operation.header(), body});
  if (!live) {
    // No postcard form for these extensions: send the CBOR header instead (see handle_message).
    live = encode_topic_log_sync(SyncOperation{operation.header_bytes(), std::move(body)});
  }
  metrics_.sent_operations += 1;
  metrics_.sent_bytes += operation.header_bytes().size() + operation.header().payload_size;
  queue(std::move(*live));
  ++live_queued_;
}

void LogSyncSession::close() {
  if (finished() || state_ == State::Closing) return;
  // Still waiting for the remote's Done: its sync messages may follow.
  closed_during_sync_ = state_ == State::Syncing && !done_received_;
  state_ = State::Closing;
  // Nothing is sent after the Close.
  ranges_.clear();
  loaded_.clear();
  held_for_live_.clear();
  queue(*encode_topic_log_sync(Close{}));
}

void LogSyncSession::handle_closed(Result<void> reason, Micros now) {
  last_activity_ = now;
  if (finished()) return;
  if (!reason) return fail(std::move(reason).error());
  if (state_ == State::Closing) {
    state_ = State::Finished;
    events_.push_back(SessionFinished{metrics_});
    return;
  }
  fail(Error(Errc::SyncClosedUnexpectedly, "the transport closed without a Close message"));
}

std::optional<Micros> LogSyncSession::next_deadline() const {
  if (state_ != State::Syncing) return std::nullopt;
  return last_activity_ + config_.sync_timeout;
}

void LogSyncSession::handle_timeout(Micros now) {
  if (state_ == State::Syncing && now >= last_activity_ + config_.sync_timeout) {
    fail(Error(Errc::SyncTimeout, "no message from the peer for " +
                                      std::to_string(config_.sync_timeout / 1000) + " ms"));
  }
}

std::optional<SessionEvent> LogSyncSession::poll_event() {
  if (events_.empty()) return std::nullopt;
  SessionEvent event = std::move(events_.front());
  events_.pop_front();
  return event;
}

}  // namespace p2panda::sync
