// The one place that includes standalone asio for src/net and names its experimental parts.
//
// asio 1.22 keeps channels and as_tuple under asio::experimental; everything in p2panda uses these
// aliases so that moving to a newer asio (where they left experimental) is a one-file change.
// Errors travel as tuples (as_tuple), never as exceptions.
//
// g++ 12 caution: bind a co_await result to a local before using it in a condition. Here
// `if (!f(co_await x)) co_return ...;` compiled into a coroutine that died with SIGILL on resume.
#pragma once

#ifndef ASIO_STANDALONE
#define ASIO_STANDALONE
#endif

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/channel.hpp>

namespace p2panda::net {

template <class T>
using Awaitable = asio::awaitable<T>;

inline constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

template <class Signature>
using Channel = asio::experimental::channel<Signature>;

using SocketAddress = asio::ip::udp::endpoint;

// True when `executor` is an io_context executor whose io_context runs on this thread: the check
// every public net operation makes before touching endpoint state.
inline bool runs_here(const asio::any_io_executor& executor) {
  auto* io = executor.target<asio::io_context::executor_type>();
  return io != nullptr && io->running_in_this_thread();
}

// Runs `io` until it is stopped or runs out of work. A handler that throws ends that handler
// only: asio leaves the io_context usable, and the other connections and timers go on (an
// exception escaping a thread would end the whole process).
inline void run_io(asio::io_context& io) {
  for (;;) {
    try {
      io.run();
      return;
    } catch (...) {
    }
  }
}

}  // namespace p2panda::net
