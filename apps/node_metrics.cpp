#include "node_metrics.hpp"

#include <sstream>

namespace p2panda::apps {
namespace {

void metric(std::ostringstream& out, const char* name, const char* type, const char* help,
            std::uint64_t value) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
      << name << ' ' << value << '\n';
}

nlohmann::json counters(const NodeMetrics& m) {
  return {{"operations_published", m.operations_published},
          {"operations_received", m.operations_received},
          {"operations_ingested", m.operations_ingested},
          {"operations_rejected", m.operations_rejected},
          {"operations_delivered", m.operations_delivered},
          {"sync_sessions_started", m.sync_sessions_started},
          {"sync_sessions_failed", m.sync_sessions_failed},
          {"sync_sessions_running", m.sync_sessions_running},
          {"connections", m.connections},
          {"bytes_sent", m.bytes_sent},
          {"bytes_received", m.bytes_received}};
}

}  // namespace

std::string prometheus_text(const NodeMetrics& m, std::size_t topics, const NodeReport& report) {
  std::ostringstream out;
  metric(out, "p2panda_connections", "gauge", "Open QUIC connections.", m.connections);
  metric(out, "p2panda_peers", "gauge", "Peers with a running sync session.",
         report.peers().size());
  metric(out, "p2panda_topics", "gauge", "Topics this node follows.", topics);
  metric(out, "p2panda_operations_published_total", "counter", "Operations published here.",
         m.operations_published);
  metric(out, "p2panda_operations_received_total", "counter",
         "Operations received from sync sessions, before validation.", m.operations_received);
  metric(out, "p2panda_operations_ingested_total", "counter",
         "Operations from peers newly stored.", m.operations_ingested);
  metric(out, "p2panda_operations_rejected_total", "counter", "Operations refused by validation.",
         m.operations_rejected);
  metric(out, "p2panda_operations_delivered_total", "counter",
         "Processed events handed to subscriptions.", m.operations_delivered);
  metric(out, "p2panda_sync_sessions_started_total", "counter", "Sync sessions started.",
         m.sync_sessions_started);
  metric(out, "p2panda_sync_sessions_failed_total", "counter", "Sync sessions that failed.",
         m.sync_sessions_failed);
  metric(out, "p2panda_sync_sessions_running", "gauge", "Sync sessions running.",
         m.sync_sessions_running);
  metric(out, "p2panda_sync_bytes_sent_total", "counter",
         "Operation bytes sent by ended sync sessions.", m.bytes_sent);
  metric(out, "p2panda_sync_bytes_received_total", "counter",
         "Operation bytes received by ended sync sessions.", m.bytes_received);

  const LatencyHistogram latency = report.latency();
  const char* name = "p2panda_pipeline_latency_seconds";
  out << "# HELP " << name
      << " From an operation's timestamp (its publish) to its delivery here.\n# TYPE " << name
      << " histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < LatencyHistogram::kBounds.size(); ++i) {
    cumulative += latency.buckets[i];
    out << name << "_bucket{le=\"" << LatencyHistogram::kBounds[i] << "\"} " << cumulative << '\n';
  }
  out << name << "_bucket{le=\"+Inf\"} " << latency.count << '\n'
      << name << "_sum " << latency.sum << '\n'
      << name << "_count " << latency.count << '\n';
  return out.str();
}

nlohmann::json status_json(Node& node, const std::vector<Topic>& topics, const NodeReport& report) {
  nlohmann::json topic_list = nlohmann::json::array();
  for (const auto& topic : topics) topic_list.push_back(topic.to_hex());
  const LatencyHistogram latency = report.latency();
  return {{"node_id", node.id().to_hex()},
          {"addresses", node.addresses()},
          {"topics", topic_list},
          {"peers", report.peers()},
          {"metrics", counters(node.metrics())},
          {"latency", {{"count", latency.count}, {"sum_seconds", latency.sum}}}};
}

}  // namespace p2panda::apps
