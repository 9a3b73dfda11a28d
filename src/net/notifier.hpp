// Notifier: wakes coroutines that wait for a change of some state (stream data, flow-control
// credit, handshake completion, connection closure).
//
// A waiter parks on a timer that never expires; notify_all() cancels every parked timer. Wake-ups
// may be spurious, so waiters re-check their condition in a loop. Endpoint thread only.
#pragma once

#include <vector>

#include "net/asio.hpp"

namespace p2panda::net {

class Notifier {
 public:
  Notifier() = default;
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Completes after the next notify_all() (or spuriously). REQUIRES: the Notifier outlives the
  // wait (waiters keep its owner alive through a shared_ptr).
  Awaitable<void> wait();

  void notify_all();

 private:
  std::vector<asio::steady_timer*> waiters_;
};

}  // namespace p2panda::net
