// AddressWatch: tells its owner when the machine's interface addresses may have changed, so
// that a node bound to a wildcard address announces where it is reachable now (a laptop that
// joined another network, a DHCP lease that moved, an interface that came up).
//
// Linux: a NETLINK_ROUTE socket subscribed to address changes (RTMGRP_IPV4_IFADDR,
// RTMGRP_IPV6_IFADDR). An interface coming up brings a burst of messages; `changed` runs once,
// `settle` after the last of them. Where netlink cannot be opened (a sandbox without it) it
// runs every `poll` instead. Either way `changed` may run when nothing that matters changed:
// the owner compares addresses itself. Executor thread only; `changed` runs there.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "net/asio.hpp"

namespace p2panda::net {

struct AddressWatchConfig {
  std::chrono::milliseconds settle{200};
  std::chrono::milliseconds poll{10'000};
};

class AddressWatch {
 public:
  AddressWatch(asio::any_io_executor executor, std::function<void()> changed,
               AddressWatchConfig config = {});
  ~AddressWatch();
  AddressWatch(const AddressWatch&) = delete;
  AddressWatch& operator=(const AddressWatch&) = delete;

  // Whether netlink notifications arrive (false: polling).
  bool notified() const;

  struct State;  // the .cpp's; shared with pending waits

 private:
  std::shared_ptr<State> state_;
};

}  // namespace p2panda::net
