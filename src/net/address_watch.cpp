#include "net/address_watch.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <optional>

namespace p2panda::net {

// Shared with the pending waits, which outlive the AddressWatch by one cancelled completion.
struct AddressWatch::State {
  State(const asio::any_io_executor& executor, std::function<void()> on_change,
        AddressWatchConfig settings)
      : changed(std::move(on_change)), config(settings), settle(executor), poll(executor) {}

  std::function<void()> changed;
  AddressWatchConfig config;
  std::optional<asio::posix::stream_descriptor> netlink;
  asio::steady_timer settle;
  asio::steady_timer poll;
  bool stopped = false;
};

namespace {

// A netlink socket that receives the kernel's address change notifications; -1 when refused.
int open_netlink() {
  const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -1;
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void wait_netlink(const std::shared_ptr<AddressWatch::State>& state);

void settle_then_report(const std::shared_ptr<AddressWatch::State>& state) {
  // Each message pushes the report back: one report per burst.
  state->settle.expires_after(state->config.settle);
  state->settle.async_wait([state](std::error_code error) {
    if (error || state->stopped) return;
    state->changed();
  });
}

void wait_netlink(const std::shared_ptr<AddressWatch::State>& state) {
  state->netlink->async_wait(asio::posix::stream_descriptor::wait_read,
                             [state](std::error_code error) {
    if (error || state->stopped) return;
    // Drain what is queued. The content does not matter (the owner re-reads the interfaces),
    // only that something changed; ENOBUFS (the kernel dropped messages) is a change as well.
    std::array<char, 8192> buffer;
    bool any = false;
    while (true) {
      const ssize_t got = ::recv(state->netlink->native_handle(), buffer.data(), buffer.size(), 0);
      if (got > 0 || (got < 0 && errno == ENOBUFS)) {
        any = true;
        continue;
      }
      break;  // EAGAIN: drained (other errors: try again on the next wake-up)
    }
    if (any) settle_then_report(state);
    wait_netlink(state);
  });
}

void poll_loop(const std::shared_ptr<AddressWatch::State>& state) {
  state->poll.expires_after(state->config.poll);
  state->poll.async_wait([state](std::error_code error) {
    if (error || state->stopped) return;
    state->changed();
    poll_loop(state);
  });
}

}  // namespace

AddressWatch::AddressWatch(asio::any_io_executor executor, std::function<void()> changed,
                           AddressWatchConfig config)
    : state_(std::make_shared<State>(executor, std::move(changed), config)) {
  const int fd = open_netlink();
  if (fd >= 0) {
    state_->netlink.emplace(executor, fd);
    wait_netlink(state_);
  } else {
    poll_loop(state_);
  }
}

AddressWatch::~AddressWatch() {
  state_->stopped = true;
  state_->settle.cancel();
  state_->poll.cancel();
  if (state_->netlink) {
    std::error_code ignored;
    state_->netlink->close(ignored);
  }
}

bool AddressWatch::notified() const { return state_->netlink.has_value(); }

}  // namespace p2panda::net
