// run_io (src/net/asio.hpp), what the node's network thread runs: a handler that throws ends
// that handler only, and the rest of the io_context's work still runs.
#include <gtest/gtest.h>

#include <stdexcept>

#include "net/asio.hpp"

namespace p2panda::net {
namespace {

TEST(RunIo, AThrowingHandlerDoesNotStopTheOthers) {
  asio::io_context io;
  int ran = 0;
  asio::post(io, [&] { ++ran; });
  asio::post(io, [] { throw std::runtime_error("a bug in one handler"); });
  asio::post(io, [&] { ++ran; });
  asio::post(io, [] { throw 42; });
  asio::post(io, [&] { ++ran; });
  run_io(io);  // returns once the work is done
  EXPECT_EQ(ran, 3);
}

}  // namespace
}  // namespace p2panda::net
