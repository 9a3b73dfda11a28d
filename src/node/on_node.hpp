// How the public handles run work on the node's thread: co_spawn there, and hand the Result back
// to the caller's executor (on_node) or to a blocked plain thread (on_node_blocking). Shared by
// api.cpp (streams) and ephemeral_api.cpp (ephemeral and event streams).
#pragma once

#include <chrono>
#include <future>
#include <optional>

#include "node/engine.hpp"

namespace p2panda::detail {

inline Unexpected shut_down() { return fail(Errc::NodeShutDown, "the node was shut down"); }

// co_spawn's completion needs a default-constructible value, which Result<T> is not.
template <class T>
net::Awaitable<std::optional<Result<T>>> as_optional(net::Awaitable<Result<T>> inner) {
  co_return co_await std::move(inner);
}

// Runs `body` on the node thread and returns its Result to the caller's executor.
// g++ 12 destroys temporaries inside co_await expressions twice (docs/node.md, "Compiler
// notes"): every awaitable is built in a named local before it is awaited.
template <class T>
Awaitable<Result<T>> on_node(std::shared_ptr<NodeEngine> engine, net::Awaitable<Result<T>> body) {
  if (engine->is_shut_down()) co_return shut_down();
  auto task = as_optional<T>(std::move(body));
  auto spawned = asio::co_spawn(engine->executor(), std::move(task), asio::use_awaitable);
  auto result = co_await std::move(spawned);
  if (!result) co_return shut_down();
  co_return std::move(*result);
}

// The blocking form: waits at most `timeout` (plus the body's own waits). REQUIRES: not on the
// node thread, which would wait for itself.
template <class T>
Result<T> on_node_blocking(const std::shared_ptr<NodeEngine>& engine,
                           net::Awaitable<Result<T>> body,
                           std::chrono::milliseconds timeout = std::chrono::hours(24)) {
  if (engine->is_shut_down()) return shut_down();
  auto task = as_optional<T>(std::move(body));
  auto future = asio::co_spawn(engine->executor(), std::move(task), asio::use_future);
  if (future.wait_for(timeout) != std::future_status::ready) {
    return fail(Errc::Io, "the node did not answer in time");
  }
  try {
    auto result = future.get();
    if (!result) return shut_down();
    return std::move(*result);
  } catch (const std::exception&) {
    return shut_down();  // the node's thread stopped before answering
  }
}

}  // namespace p2panda::detail
