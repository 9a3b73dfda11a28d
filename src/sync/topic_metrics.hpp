// TopicSyncMetrics: turns one topic's session events into the figures apps see (SyncStarted,
// SyncEnded), and gets right what p2panda 0.7 gets wrong: `topic_sessions` counts the sessions
// actually running on the topic (p2panda never counts one, so it reports 0), and each session's
// bytes are added to the topic totals exactly once, when it ends (p2panda adds them at
// SyncFinished and again at SessionFinished). Pure bookkeeping; one instance per topic.
#pragma once

#include <map>
#include <optional>

#include "sync/log_sync.hpp"

namespace p2panda::sync {

using SessionId = std::uint64_t;

struct SyncStarted {
  PublicKey remote;
  SessionId session_id = 0;
  std::uint64_t incoming_operations = 0;
  std::uint64_t outgoing_operations = 0;
  std::uint64_t incoming_bytes = 0;
  std::uint64_t outgoing_bytes = 0;
  std::uint32_t topic_sessions = 0;  // sessions running on the topic, this one included
};

struct SyncEnded {
  PublicKey remote;
  SessionId session_id = 0;
  SyncMetrics metrics;
  std::uint64_t sent_bytes_topic_total = 0;      // all ended sessions of the topic, this included
  std::uint64_t received_bytes_topic_total = 0;
  std::optional<Error> error;
};

class TopicSyncMetrics {
 public:
  void session_opened(SessionId id, const PublicKey& remote) { running_.emplace(id, remote); }

  SyncStarted started(SessionId id, const MetricsExchanged& exchanged) const {
    const auto found = running_.find(id);
    return SyncStarted{found == running_.end() ? PublicKey{} : found->second, id,
                       exchanged.incoming_operations, exchanged.outgoing_operations,
                       exchanged.incoming_bytes,      exchanged.outgoing_bytes,
                       static_cast<std::uint32_t>(running_.size())};
  }

  // REQUIRES: session_opened(id) was called and ended(id) was not.
  SyncEnded ended(SessionId id, const SyncMetrics& metrics, std::optional<Error> error) {
    const auto found = running_.find(id);
    const PublicKey remote = found == running_.end() ? PublicKey{} : found->second;
    if (found != running_.end()) running_.erase(found);
    sent_total_ += metrics.sent_bytes;
    received_total_ += metrics.received_bytes;
    return SyncEnded{remote, id, metrics, sent_total_, received_total_, std::move(error)};
  }

  std::size_t running() const { return running_.size(); }

 private:
  std::map<SessionId, PublicKey> running_;
  std::uint64_t sent_total_ = 0;
  std::uint64_t received_total_ = 0;
};

}  // namespace p2panda::sync
