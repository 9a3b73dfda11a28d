// The asynchronous side of the public API: standalone asio 1.22 awaitables. Every awaitable of
// p2panda may be co_awaited from any asio executor; the work runs on the node's own thread and the
// result comes back to the caller's executor.
#pragma once

#ifndef ASIO_STANDALONE
#define ASIO_STANDALONE
#endif

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/use_awaitable.hpp>

namespace p2panda {

template <class T>
using Awaitable = asio::awaitable<T>;

}  // namespace p2panda
