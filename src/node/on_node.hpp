// How the public handles run work on the node's thread: co_spawn there, and hand the Result back
// to the caller's executor (on_node) or to a blocked plain thread (on_node_blocking). Shared by
// api.cpp (streams) and ephemeral_api.cpp (ephemeral and event streams).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <functional>
#include <future>
#include <optional>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/this_coro.hpp>

#include "node/engine.hpp"

namespace p2panda::detail {

inline Unexpected shut_down() { return fail(Errc::NodeShutDown, "the node was shut down"); }

// co_spawn's completion needs a default-constructible value, which Result<T> is not.
template <class T>
net::Awaitable<std::optional<Result<T>>> as_optional(net::Awaitable<Result<T>> inner) {
  co_return co_await std::move(inner);
}

// The node side of a call is never cancelled with its caller: asio would throw out of its next
// co_await, leaving the node's state half changed (an ack begun and never ended, say).
inline auto uncancelled() {
  return asio::bind_cancellation_slot(asio::cancellation_slot(), asio::use_awaitable);
}

// Runs `body` on the node thread and returns its Result to the caller's executor.
// g++ 12 destroys temporaries inside co_await expressions twice (docs/node.md, "Compiler
// notes"): every awaitable is built in a named local before it is awaited.
template <class T>
Awaitable<Result<T>> on_node(std::shared_ptr<NodeEngine> engine, net::Awaitable<Result<T>> body) {
  if (engine->is_shut_down()) co_return shut_down();
  auto task = as_optional<T>(std::move(body));
  auto spawned = asio::co_spawn(engine->executor(), std::move(task), uncancelled());
  auto result = co_await std::move(spawned);
  if (!result) co_return shut_down();
  co_return std::move(*result);
}

// A caller that gives up on a call taking one item from a queue on the node thread, such as
// next() raced against a timer (`next() || timer`), sets `flag` from its own thread.
struct Abandon {
  std::atomic<bool> flag{false};
};

// on_node for such a call. `body` takes the item; it checks `abandon` before taking one and
// returns nullopt if set. `wake` (node thread) wakes a body that waits; an item taken before the
// body heard of it goes to `give_back` (node thread), to be taken again. Such a caller gets
// Cancelled and loses nothing.
template <class T>
Awaitable<Result<T>> on_node_cancellable(std::shared_ptr<NodeEngine> engine,
                                         std::shared_ptr<Abandon> abandon,
                                         net::Awaitable<Result<std::optional<T>>> body,
                                         std::function<void()> wake,
                                         std::function<void(T)> give_back) {
  if (engine->is_shut_down()) co_return shut_down();
  auto state = co_await asio::this_coro::cancellation_state;
  // Cancelled before it began: asio would throw at the co_await below.
  if (state.cancelled() != asio::cancellation_type::none) {
    co_return fail(Errc::Cancelled, "the caller was cancelled; nothing was taken");
  }
  // Both posts go through the node's completions, which close before its thread and io_context
  // go away at shutdown: a caller resuming late must not post to a destroyed io_context.
  auto completions = engine->completions();
  asio::cancellation_slot slot = state.slot();
  struct Clear {
    asio::cancellation_slot& slot;
    ~Clear() {
      if (slot.is_connected()) slot.clear();
    }
  } clear{slot};
  if (slot.is_connected()) {
    slot.assign([abandon, completions, wake](asio::cancellation_type) {
      abandon->flag = true;
      completions->post(wake);
    });
  }
  auto task = as_optional<std::optional<T>>(std::move(body));
  auto spawned = asio::co_spawn(engine->executor(), std::move(task), uncancelled());
  auto result = co_await std::move(spawned);
  if (slot.is_connected()) slot.clear();
  if (!result) co_return shut_down();
  if (!*result) co_return Unexpected{std::move(*result).error()};
  if (!**result || abandon->flag) {
    if (**result) {
      completions->post([give_back, item = std::move(***result)]() mutable {
        give_back(std::move(item));
      });
    }
    co_return fail(Errc::Cancelled, "the caller was cancelled; nothing was taken");
  }
  co_return std::move(***result);
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

// How long a blocking next(timeout) waits for the node: its own timeout and 5 s for the node's
// thread to answer (saturating: a timeout of hours or more is taken as given).
inline std::chrono::milliseconds with_grace(std::chrono::milliseconds timeout) {
  constexpr auto grace = std::chrono::seconds(5);
  return timeout >= std::chrono::hours(24) ? timeout : timeout + grace;
}

// The blocking form of on_node_cancellable, for next(timeout): a caller that stops waiting at
// `timeout` (the node did not answer in time: Io) sets `abandon` the same way, and what the body
// takes after that goes to `give_back` instead of a future nobody reads. `body` returning nullopt
// means its own deadline passed.
template <class T>
Result<std::optional<T>> on_node_blocking_cancellable(
    const std::shared_ptr<NodeEngine>& engine, std::shared_ptr<Abandon> abandon,
    net::Awaitable<Result<std::optional<T>>> body, std::function<void()> wake,
    std::function<void(T)> give_back, std::chrono::milliseconds timeout) {
  if (engine->is_shut_down()) return shut_down();
  struct Answer {
    std::mutex mutex;
    std::condition_variable done;
    bool answered = false;
    bool gave_up = false;
    std::optional<Result<std::optional<T>>> result;  // empty: the node stopped first
  };
  // Answers "shut down" if the node's io_context goes away with the handler unrun.
  struct Guard {
    std::shared_ptr<Answer> answer;
    bool ran = false;
    ~Guard() {
      if (ran || !answer) return;
      std::lock_guard lock(answer->mutex);
      answer->answered = true;
      answer->done.notify_all();
    }
  };
  auto answer = std::make_shared<Answer>();
  auto guard = std::make_shared<Guard>();  // not from a temporary, whose end would answer
  guard->answer = answer;
  auto task = as_optional<std::optional<T>>(std::move(body));
  asio::co_spawn(
      engine->executor(), std::move(task),
      [guard, give_back](std::exception_ptr, std::optional<Result<std::optional<T>>> result) {
        guard->ran = true;
        Answer& out = *guard->answer;
        std::unique_lock lock(out.mutex);
        if (out.gave_up) {
          lock.unlock();
          if (result && *result && **result) give_back(std::move(***result));  // node thread
          return;
        }
        out.result = std::move(result);
        out.answered = true;
        out.done.notify_all();
      });
  guard.reset();
  std::unique_lock lock(answer->mutex);
  if (!answer->done.wait_for(lock, timeout, [&] { return answer->answered; })) {
    answer->gave_up = true;
    abandon->flag = true;
    lock.unlock();
    engine->completions()->post(wake);
    return fail(Errc::Io, "the node did not answer in time");
  }
  if (!answer->result) return shut_down();
  return std::move(*answer->result);
}

}  // namespace p2panda::detail
