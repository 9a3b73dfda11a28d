// Signal: wakes coroutines of one executor that wait for some state to change, optionally with a
// deadline. Wake-ups may be spurious: waiters re-check their condition in a loop. Like
// net::Notifier, plus wait_until (the node's timers: ack waits, sync deadlines, retries).
#pragma once

#include <algorithm>
#include <chrono>
#include <mutex>
#include <vector>

#include "net/asio.hpp"

namespace p2panda::node {

using Clock = std::chrono::steady_clock;

class Signal {
 public:
  Signal() = default;
  Signal(const Signal&) = delete;
  Signal& operator=(const Signal&) = delete;

  // Completes after notify_all(), at `deadline`, or spuriously. REQUIRES: the Signal outlives the
  // wait (waiters hold its owner through a shared_ptr).
  net::Awaitable<void> wait_until(Clock::time_point deadline) {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor, deadline);
    waiters_.push_back(&timer);
    // The frame may be destroyed without resuming (io_context teardown); the guard still unparks.
    struct Unpark {
      std::vector<asio::steady_timer*>& waiters;
      asio::steady_timer* timer;
      ~Unpark() { std::erase(waiters, timer); }
    } unpark{waiters_, &timer};
    co_await timer.async_wait(net::use_tuple);
  }
  net::Awaitable<void> wait() { return wait_until(Clock::time_point::max()); }

  void notify_all() {
    for (auto* timer : waiters_) timer->cancel();
  }

 private:
  std::vector<asio::steady_timer*> waiters_;
};

// Hands completions from other threads (the store's writer) to the node thread, until close():
// after it, nothing more is posted, so nothing reaches an executor whose thread is being torn
// down. Thread-safe.
class Completions {
 public:
  explicit Completions(asio::any_io_executor executor) : executor_(std::move(executor)) {}

  template <class F>
  void post(F&& function) {
    std::lock_guard lock(mutex_);
    if (open_) asio::post(executor_, std::forward<F>(function));
  }
  void close() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }

 private:
  std::mutex mutex_;
  bool open_ = true;
  asio::any_io_executor executor_;
};

// Microseconds on the steady clock: the time the sans-IO cores (Consumer, LogSyncSession) take.
inline std::uint64_t now_micros() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch())
          .count());
}

// Deadlines past what the clock can hold (the "never" of an ack wait of 0) become max():
// converting them would overflow the clock's nanoseconds.
inline Clock::time_point from_micros(std::uint64_t micros) {
  constexpr auto kLimit = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::duration::max()).count() / 2);
  if (micros >= kLimit) return Clock::time_point::max();
  return Clock::time_point(std::chrono::microseconds(micros));
}

}  // namespace p2panda::node
