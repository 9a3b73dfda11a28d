// The mailbox behind ephemeral subscriptions and the event stream: bounded, oldest dropped
// first, and every drop counted.
#include "node/mailbox.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

namespace p2panda::node {
namespace {

// Takes what waits in `mailbox` (without waiting for more) on a small io_context.
std::vector<int> drain(Mailbox<int>& mailbox) {
  asio::io_context io;
  std::vector<int> out;
  asio::co_spawn(
      io,
      [&]() -> net::Awaitable<void> {
        for (;;) {
          auto next = co_await mailbox.next(Clock::now());
          if (!next || !*next) co_return;
          out.push_back(**next);
        }
      },
      asio::detached);
  io.run();
  return out;
}

TEST(Mailbox, PastItsCapacityTheOldestGoAndAreCounted) {
  Mailbox<int> mailbox(3);
  for (int i = 1; i <= 5; ++i) mailbox.push(i);
  EXPECT_EQ(mailbox.dropped(), 2u);
  EXPECT_EQ(drain(mailbox), (std::vector<int>{3, 4, 5}));
  mailbox.push(6);  // room again: nothing more is lost
  EXPECT_EQ(drain(mailbox), std::vector<int>{6});
  EXPECT_EQ(mailbox.dropped(), 2u);
}

TEST(Mailbox, AClosedMailboxTakesNothingAndLosesNothingMore) {
  Mailbox<int> mailbox(1);
  mailbox.push(1);
  mailbox.close();
  mailbox.push(2);
  EXPECT_EQ(mailbox.dropped(), 0u);
  EXPECT_EQ(drain(mailbox), std::vector<int>{1});
}

}  // namespace
}  // namespace p2panda::node
