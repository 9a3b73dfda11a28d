// Mailbox: a queue of values handed from the node thread to one reader (an ephemeral or event
// subscription), with a wait. At most `capacity` values wait; past that the oldest is dropped
// and counted (p2panda's ephemeral and event channels are lossy broadcast channels too; here
// the count says so, and any thread may read it). Node thread only otherwise; the shared_ptr may
// be released from any thread.
#pragma once

#include <atomic>
#include <deque>
#include <optional>

#include <p2panda/result.hpp>

#include "node/signal.hpp"

namespace p2panda::node {

template <class T>
class Mailbox {
 public:
  explicit Mailbox(std::size_t capacity) : capacity_(capacity) {}

  void push(T value) {
    if (closed_) return;
    if (items_.size() >= capacity_) {
      items_.pop_front();
      dropped_.fetch_add(1, std::memory_order_relaxed);
    }
    items_.push_back(std::move(value));
    changed_.notify_all();
  }
  void close() {
    closed_ = true;
    changed_.notify_all();
  }
  // A value taken for a caller that was cancelled before it got it: first again (unless the
  // mailbox is full by now, as if it had just been dropped as the oldest).
  void give_back(T value) {
    if (closed_) return;
    if (items_.size() >= capacity_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    items_.push_front(std::move(value));
    changed_.notify_all();
  }
  // Wakes a next() waiting, for it to check what its caller asked for meanwhile.
  void wake() { changed_.notify_all(); }
  bool closed() const { return closed_; }
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

  // The next value, or nullopt at `deadline`. Errors: NodeShutDown once closed and empty.
  // Also nullopt once `abandoned` is set (on_node_cancellable).
  net::Awaitable<Result<std::optional<T>>> next(Clock::time_point deadline,
                                                const std::atomic<bool>* abandoned = nullptr) {
    for (;;) {
      if (abandoned && *abandoned) co_return std::optional<T>{};
      if (!items_.empty()) {
        T value = std::move(items_.front());
        items_.pop_front();
        co_return std::optional<T>(std::move(value));
      }
      if (closed_) co_return fail(Errc::NodeShutDown, "the node was shut down");
      if (Clock::now() >= deadline) co_return std::optional<T>{};
      co_await changed_.wait_until(deadline);
    }
  }

 private:
  std::size_t capacity_;
  std::deque<T> items_;
  Signal changed_;
  bool closed_ = false;
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace p2panda::node
