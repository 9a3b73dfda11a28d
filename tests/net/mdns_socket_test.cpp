// MdnsSocket on loopback: sockets sharing one port hear each other's multicasts (several in one
// process, and across processes), nothing is accepted for an unknown interface. Each test uses
// its own port, derived from the process id, so parallel tests and any system responder on 5353
// stay apart.
#include "net/mdns_socket.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace p2panda::net {
namespace {

using namespace std::chrono_literals;

std::uint16_t test_port() { return static_cast<std::uint16_t>(20000 + ::getpid() % 30000); }

ByteSpan text(const std::string& value) {
  return ByteSpan(reinterpret_cast<const std::uint8_t*>(value.data()), value.size());
}

// Runs `io` until `done` or the deadline.
bool run_until(asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.run_for(10ms);
    io.restart();
  }
  return done();
}

TEST(MdnsSocket, SocketsSharingThePortHearEachOtherOnLoopback) {
  asio::io_context io;
  MdnsSocketConfig config{{"lo"}, test_port()};
  std::vector<std::unique_ptr<MdnsSocket>> sockets;
  std::vector<std::vector<std::string>> heard(3);
  for (int i = 0; i < 3; ++i) {
    auto socket = MdnsSocket::open(io.get_executor(), config);
    ASSERT_TRUE(socket) << socket.error().message();
    sockets.push_back(std::move(*socket));
    sockets.back()->start([&heard, i](ByteSpan datagram) {
      heard[i].emplace_back(datagram.begin(), datagram.end());
    });
  }
  sockets[0]->send(text("hello"));
  EXPECT_TRUE(run_until(
      io, [&] { return heard[1].size() == 1 && heard[2].size() == 1; }, 5s));
  EXPECT_EQ(heard[1].at(0), "hello");
  EXPECT_EQ(heard[2].at(0), "hello");
  EXPECT_EQ(sockets[0]->bytes_sent(), 5u);
  EXPECT_EQ(sockets[0]->send_failures(), 0u);
  sockets[1]->close();
  sockets[2]->send(text("again"));
  EXPECT_TRUE(run_until(
      io, [&] { return heard[0].size() == 2; }, 5s));  // its own loops back
  EXPECT_EQ(heard[1].size(), 1u);
}

TEST(MdnsSocket, UnknownInterfaceOrNoneIsRefused) {
  asio::io_context io;
  auto unknown = MdnsSocket::open(io.get_executor(), {{"no-such-if0"}, test_port()});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), Errc::InvalidArgument);
  auto none = MdnsSocket::open(io.get_executor(), {{}, test_port()});
  EXPECT_FALSE(none);
}

TEST(MdnsSocket, AnotherProcessHearsUsAndAnswers) {
  const auto port = test_port();
  // The socket exists before the child starts, so its first datagram cannot be missed.
  asio::io_context io;
  auto socket = MdnsSocket::open(io.get_executor(), {{"lo"}, port});
  ASSERT_TRUE(socket) << socket.error().message();
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child: multicasts "child" until it hears "ack" (at most 5 s).
    asio::io_context child_io;
    auto own = MdnsSocket::open(child_io.get_executor(), {{"lo"}, port});
    if (!own) ::_exit(2);
    bool acked = false;
    (*own)->start([&](ByteSpan datagram) {
      acked = acked || std::string(datagram.begin(), datagram.end()) == "ack";
    });
    for (int i = 0; i < 100 && !acked; ++i) {
      (*own)->send(text("child"));
      run_until(
          child_io, [&] { return acked; }, 50ms);
    }
    ::_exit(acked ? 0 : 1);
  }
  bool heard_child = false;
  (*socket)->start([&](ByteSpan datagram) {
    heard_child = heard_child || std::string(datagram.begin(), datagram.end()) == "child";
  });
  EXPECT_TRUE(run_until(
      io, [&] { return heard_child; }, 5s));
  (*socket)->send(text("ack"));
  int status = 0;
  pid_t ended = 0;
  for (int i = 0; i < 600 && ended == 0; ++i) {
    ended = ::waitpid(child, &status, WNOHANG);
    run_until(
        io, [] { return false; }, 10ms);
    if (i % 10 == 0) (*socket)->send(text("ack"));
  }
  if (ended != child) {
    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
    FAIL() << "the child did not finish";
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace p2panda::net
