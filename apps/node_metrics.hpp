// What `node --metrics` serves: Prometheus text (GET /metrics) and the status JSON (GET /status,
// printed by `p2panda status`). Built from the node's counters plus what NodeReport tracks.
// Any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <p2panda/node.hpp>

#include "node_report.hpp"

namespace p2panda::apps {

std::string prometheus_text(const NodeMetrics& metrics, std::size_t topics,
                            const NodeReport& report);

nlohmann::json status_json(Node& node, const std::vector<Topic>& topics, const NodeReport& report);

}  // namespace p2panda::apps
