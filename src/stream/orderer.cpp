#include "stream/orderer.hpp"

#include <deque>

#include "core/try.hpp"

namespace p2panda::stream {

Result<std::vector<Hash>> missing_dependencies(store::StoreReader& reader, const Hash& id,
                                               std::span<const Hash> dependencies) {
  std::vector<Hash> missing;
  for (const Hash& dependency : dependencies) {
    if (dependency == id) continue;  // cannot happen for real ids (it would be a hash cycle)
    P2PANDA_TRY(ready, reader.orderer_is_ready(dependency));
    if (ready) continue;
    // Stored and not held back: it came in while the topic was not causal (another session, or
    // our own publishes' fast lane), was delivered then, and counts as released.
    P2PANDA_TRY(stored, reader.has_operation(dependency));
    if (stored) {
      P2PANDA_TRY(waiting, reader.orderer_waiting_for(dependency));
      if (waiting.empty()) continue;
    }
    missing.push_back(dependency);
  }
  return missing;
}

Result<void> room_to_hold_back(store::StoreReader& reader, const LogId& log,
                               const OrdererConfig& config) {
  P2PANDA_TRY(held, reader.orderer_held_count(log));
  if (held < config.max_pending) return {};
  return fail(Errc::OrdererFull,
              std::to_string(held) + " operations of this topic already wait for dependencies");
}

Result<OrderResult> order(store::StoreWriter& writer, const Hash& id, const LogId& log,
                          std::span<const Hash> dependencies, const OrdererConfig& config) {
  OrderResult result;
  P2PANDA_TRY(already, writer.orderer_is_ready(id));
  if (already) return result;
  P2PANDA_TRY(missing, missing_dependencies(writer, id, dependencies));
  if (!missing.empty()) {
    P2PANDA_TRY(waiting, writer.orderer_waiting_for(id));
    if (waiting.empty()) {  // not held back yet: it takes a new slot
      P2PANDA_CHECK(room_to_hold_back(writer, log, config));
    }
    P2PANDA_CHECK(writer.orderer_add_pending(id, log, missing));
    result.missing = std::move(missing);
    return result;
  }
  P2PANDA_TRY(released, release(writer, id));
  result.released = std::move(released);
  return result;
}

Result<std::vector<Hash>> release(store::StoreWriter& writer, const Hash& id) {
  // Breadth-first: each released operation may unblock others, which are released in the order
  // they arrived.
  std::vector<Hash> released;
  std::deque<Hash> queue{id};
  while (!queue.empty()) {
    const Hash next = queue.front();
    queue.pop_front();
    P2PANDA_CHECK(writer.orderer_mark_ready(next));
    released.push_back(next);
    P2PANDA_TRY(unblocked, writer.orderer_resolve(next));
    queue.insert(queue.end(), unblocked.begin(), unblocked.end());
  }
  return released;
}

Result<std::size_t> release_settled(store::StoreWriter& writer) {
  P2PANDA_TRY(any_held, writer.orderer_any_pending());
  if (!any_held) return std::size_t{0};
  P2PANDA_TRY(dependencies, writer.orderer_dependencies());
  std::size_t released = 0;
  for (const Hash& dependency : dependencies) {
    P2PANDA_TRY(ready, writer.orderer_is_ready(dependency));
    P2PANDA_TRY(stored, writer.has_operation(dependency));
    if (ready || !stored) continue;  // released ones resolve their waiters as they are released
    P2PANDA_TRY(waiting, writer.orderer_waiting_for(dependency));
    if (!waiting.empty()) continue;  // held back itself
    P2PANDA_TRY(ordered, release(writer, dependency));
    released += ordered.size() - 1;  // not the dependency: it was delivered back then
  }
  return released;
}

}  // namespace p2panda::stream
