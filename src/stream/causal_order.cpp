#include "stream/causal_order.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <queue>
#include <unordered_map>

#include <p2panda/extensions.hpp>

namespace p2panda::stream {

std::vector<Operation> in_causal_order(std::vector<Operation> operations) {
  const std::size_t n = operations.size();
  std::unordered_map<Hash, std::size_t> index;
  index.reserve(n);
  for (std::size_t i = 0; i < n; ++i) index.emplace(operations[i].id(), i);

  std::vector<std::size_t> unmet(n, 0);
  std::vector<std::vector<std::size_t>> dependants(n);
  auto link = [&](const Hash& before, std::size_t after) {
    auto found = index.find(before);
    if (found == index.end() || found->second == after) return;
    dependants[found->second].push_back(after);
    ++unmet[after];
  };
  // Each log in seq order, also across a gap (an entry missing from the batch, say a stored row
  // that no longer reads): its backlink then names nothing here, yet acking the later entry
  // would ack the earlier one before its delivery.
  std::map<std::pair<PublicKey, LogId>, std::vector<std::pair<std::uint32_t, std::size_t>>> logs;
  for (std::size_t i = 0; i < n; ++i) {
    const Header& header = operations[i].header();
    if (header.backlink) link(*header.backlink, i);
    if (auto extensions = node_extensions(header)) {
      for (const Hash& dependency : extensions->dependencies) link(dependency, i);
      logs[{operations[i].author(), extensions->log_id}].emplace_back(header.seq_num.value(), i);
    }
  }
  for (auto& [log, entries] : logs) {
    std::sort(entries.begin(), entries.end());
    for (std::size_t k = 1; k < entries.size(); ++k) {
      dependants[entries[k - 1].second].push_back(entries[k].second);
      ++unmet[entries[k].second];
    }
  }

  // Smallest given position first among those whose dependencies are all out.
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
  for (std::size_t i = 0; i < n; ++i) {
    if (unmet[i] == 0) ready.push(i);
  }
  std::vector<bool> placed(n, false);
  std::vector<Operation> ordered;
  ordered.reserve(n);
  while (!ready.empty()) {
    std::size_t i = ready.top();
    ready.pop();
    placed[i] = true;
    ordered.push_back(std::move(operations[i]));
    for (std::size_t after : dependants[i]) {
      if (--unmet[after] == 0) ready.push(after);
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!placed[i]) ordered.push_back(std::move(operations[i]));
  }
  return ordered;
}

}  // namespace p2panda::stream
