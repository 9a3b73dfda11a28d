#include "net/notifier.hpp"

#include <algorithm>

namespace p2panda::net {

Awaitable<void> Notifier::wait() {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, asio::steady_timer::time_point::max());
  waiters_.push_back(&timer);
  // The frame may be destroyed without resuming (io_context teardown); the guard still unparks.
  struct Unpark {
    std::vector<asio::steady_timer*>& waiters;
    asio::steady_timer* timer;
    ~Unpark() { std::erase(waiters, timer); }
  } unpark{waiters_, &timer};
  co_await timer.async_wait(use_tuple);
}

void Notifier::notify_all() {
  for (auto* timer : waiters_) timer->cancel();
}

}  // namespace p2panda::net
