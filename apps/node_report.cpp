#include "node_report.hpp"

#include <iostream>

namespace p2panda::apps {
namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

const char* source_name(const Source& source) {
  if (std::holds_alternative<FromSyncSession>(source)) return "sync";
  if (std::holds_alternative<FromImport>(source)) return "import";
  return "local";
}

nlohmann::ordered_json error_or_null(const std::optional<Error>& error) {
  return error ? nlohmann::ordered_json(error->to_string()) : nlohmann::ordered_json(nullptr);
}

double seconds_since(Timestamp timestamp) {
  const auto now = Timestamp::now().value();
  const auto then = timestamp.value();
  return now > then ? static_cast<double>(now - then) / 1e6 : 0.0;
}

std::string short_hex(const nlohmann::ordered_json& value) {
  return value.is_string() ? value.get<std::string>().substr(0, 8) : "?";
}

}  // namespace

void LatencyHistogram::observe(double seconds) {
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) {
      ++buckets[i];
      break;
    }
  }
  ++count;
  sum += seconds;
}

void NodeReport::emit(const nlohmann::ordered_json& object) {
  std::lock_guard lock(mutex_);
  emit_locked(object);
}

void NodeReport::emit_locked(const nlohmann::ordered_json& object) {
  // Invalid UTF-8 in a message must not throw: replace it.
  std::cout << (json_ ? object.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
                      : readable(object))
            << '\n'
            << std::flush;
}

void NodeReport::error(const std::string& message) {
  emit({{"event", "error"}, {"message", message}});
}

// Discovery, gossip neighbours and sync sessions that failed before they started. Sessions that
// started are left out: the topic subscriptions report them as sync_started / sync_ended.
void NodeReport::on_system_event(const SystemEvent& event) {
  std::visit(
      Overloaded{
          [&](const PeerDiscovered& found) {
            const char* via = found.via == PeerDiscovered::Via::Mdns          ? "mdns"
                              : found.via == PeerDiscovered::Via::Gossip      ? "gossip"
                              : found.via == PeerDiscovered::Via::AddressBook ? "address_book"
                              : found.via == PeerDiscovered::Via::Discovery   ? "discovery"
                                                                              : "bootstrap";
            emit({{"event", "discovered"}, {"remote", found.node.to_hex()}, {"via", via}});
          },
          [&](const NeighborUp& up) {
            emit({{"event", "neighbor_up"},
                  {"topic", up.topic.to_hex()},
                  {"remote", up.node.to_hex()},
                  {"ephemeral", up.ephemeral}});
          },
          [&](const NeighborDown& down) {
            emit({{"event", "neighbor_down"},
                  {"topic", down.topic.to_hex()},
                  {"remote", down.node.to_hex()},
                  {"ephemeral", down.ephemeral}});
          },
          [](const SyncSessionStarted&) {},
          [](const SyncSessionEnded&) {},
          // No subscription hears of a session that never started: report it here.
          [&](const SyncSessionFailed& failed) {
            emit({{"event", "sync_failed"},
                  {"topic", failed.topic.to_hex()},
                  {"remote", failed.node.to_hex()},
                  {"error", failed.error.to_string()},
                  {"retry_in_ms", failed.retry_in.count()}});
          },
      },
      event);
}

void NodeReport::on_event(const Topic& topic, const StreamEvent<std::string>& event) {
  std::lock_guard lock(mutex_);
  const std::string topic_hex = topic.to_hex();
  std::visit(
      Overloaded{
          [&](const Processed<std::string>& processed) {
            const auto& op = processed.operation;
            if (!replaying_.contains(topic)) latency_.observe(seconds_since(op.timestamp));
            emit_locked({{"event", "processed"},
                         {"topic", topic_hex},
                         {"id", op.id.to_hex()},
                         {"author", op.author.to_hex()},
                         {"seq", op.seq.value()},
                         {"timestamp", op.timestamp.value()},
                         {"message", processed.message},
                         {"source", source_name(processed.source)},
                         {"delivery", processed.delivery}});
          },
          [&](const SyncStarted& started) {
            emit_locked({{"event", "sync_started"},
                         {"topic", topic_hex},
                         {"remote", started.remote.to_hex()},
                         {"session", started.session_id},
                         {"incoming_operations", started.incoming_operations},
                         {"outgoing_operations", started.outgoing_operations},
                         {"incoming_bytes", started.incoming_bytes},
                         {"outgoing_bytes", started.outgoing_bytes}});
            on_session_started(started.remote, started.session_id);
          },
          [&](const SyncEnded& ended) {
            emit_locked({{"event", "sync_ended"},
                         {"topic", topic_hex},
                         {"remote", ended.remote.to_hex()},
                         {"session", ended.session_id},
                         {"sent_operations", ended.sent_operations},
                         {"received_operations", ended.received_operations},
                         {"sent_bytes", ended.sent_bytes},
                         {"received_bytes", ended.received_bytes},
                         {"error", error_or_null(ended.error)}});
            on_session_ended(ended.remote, ended.session_id);
          },
          [&](const ReplayStarted& started) {
            replaying_.insert(topic);
            emit_locked({{"event", "replay_started"},
                         {"topic", topic_hex},
                         {"total", started.total_operations}});
          },
          [&](const ReplayEnded&) {
            replaying_.erase(topic);
            emit_locked({{"event", "replay_ended"}, {"topic", topic_hex}});
          },
          [&](const ReplayFailed& failed) {
            replaying_.erase(topic);
            emit_locked({{"event", "error"},
                         {"topic", topic_hex},
                         {"message", "replay failed: " + failed.error.to_string()}});
          },
          [&](const ProcessingFailed& failed) {
            emit_locked({{"event", "rejected"},
                         {"topic", topic_hex},
                         {"id", failed.id.to_hex()},
                         {"message", failed.error.to_string()}});
          },
          [&](const DecodeFailed& failed) {
            emit_locked({{"event", "decode_failed"},
                         {"topic", topic_hex},
                         {"id", failed.operation.id.to_hex()},
                         {"message", failed.error.to_string()}});
          },
          [&](const AckFailed& failed) {
            emit_locked({{"event", "error"},
                         {"topic", topic_hex},
                         {"message", "ack failed: " + failed.error.to_string()}});
          },
          [&](const auto&) {},  // imports and delivery limits: `node` uses neither
      },
      event);
}

// peer_up when a remote's first session runs, peer_down when its last one ended. Sessions are
// per topic; a session that failed before it started never counted.
void NodeReport::on_session_started(const NodeId& remote, std::uint64_t session) {
  auto& running = sessions_[remote];
  const bool first = running.empty();
  running.insert(session);
  if (first) emit_locked({{"event", "peer_up"}, {"remote", remote.to_hex()}});
}

void NodeReport::on_session_ended(const NodeId& remote, std::uint64_t session) {
  auto found = sessions_.find(remote);
  if (found == sessions_.end() || found->second.erase(session) == 0) return;
  if (!found->second.empty()) return;
  sessions_.erase(found);
  emit_locked({{"event", "peer_down"}, {"remote", remote.to_hex()}});
}

std::vector<std::string> NodeReport::peers() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [remote, running] : sessions_) out.push_back(remote.to_hex());
  return out;
}

LatencyHistogram NodeReport::latency() const {
  std::lock_guard lock(mutex_);
  return latency_;
}

std::string readable(const nlohmann::ordered_json& o) {
  const std::string event = o.value("event", "");
  if (event == "processed") {
    return short_hex(o["author"]) + "#" + std::to_string(o.value("seq", 0)) + " on " +
           short_hex(o["topic"]) + ": " + o.value("message", "");
  }
  if (event == "ready") {
    std::string line = "node " + o.value("node_id", "") + " listening on";
    for (const auto& address : o["addresses"]) line += " " + address.get<std::string>();
    return line;
  }
  if (event == "sync_started" || event == "sync_ended") {
    std::string line = event + " with " + short_hex(o["remote"]) + " on " + short_hex(o["topic"]);
    if (event == "sync_ended") {
      line += ": sent " + std::to_string(o.value("sent_operations", 0)) + " operations, received " +
              std::to_string(o.value("received_operations", 0));
      if (o["error"].is_string()) line += " (" + o["error"].get<std::string>() + ")";
    }
    return line;
  }
  if (event == "peer_up" || event == "peer_down") {
    return "peer " + o.value("remote", "") + (event == "peer_up" ? " up" : " down");
  }
  if (event == "error" || event == "rejected" || event == "decode_failed") {
    return event + ": " + o.value("message", "");
  }
  if (event == "published") return "published " + o.value("id", "");
  if (event == "ephemeral") {
    return "ephemeral from " + short_hex(o["author"]) + " on " + short_hex(o["topic"]) + ": " +
           o.value("message", "");
  }
  if (event == "discovered") {
    return "found " + short_hex(o["remote"]) + " via " + o.value("via", "");
  }
  if (event == "neighbor_up" || event == "neighbor_down") {
    return "neighbour " + short_hex(o["remote"]) + (event == "neighbor_up" ? " up" : " down") +
           " on " + short_hex(o["topic"]) + (o.value("ephemeral", false) ? " (ephemeral)" : "");
  }
  if (event == "ephemeral_published") return "ephemeral sent on " + short_hex(o["topic"]);
  if (event == "stopped") return "stopped";
  if (event == "replay_started") {
    return "replaying " + std::to_string(o.value("total", 0)) + " stored operations of " +
           short_hex(o["topic"]);
  }
  if (event == "replay_ended") return "replay of " + short_hex(o["topic"]) + " done";
  return o.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace p2panda::apps
