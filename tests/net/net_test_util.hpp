// Helpers for the QUIC tests: endpoints on 127.0.0.1 and running coroutines on an endpoint's
// executor with a deadline (tests wait on events, never on sleeps).
#pragma once

#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "net/endpoint.hpp"

namespace p2panda::net::test {

using namespace std::chrono_literals;

inline Bytes alpn_of(std::string_view text) { return Bytes(text.begin(), text.end()); }

inline Endpoint make_endpoint(TransportConfig transport = {}, bool validate_addresses = false) {
  EndpointConfig config;
  config.transport = transport;
  config.validate_addresses = validate_addresses;
  auto endpoint = Endpoint::bind(std::move(config));
  EXPECT_TRUE(endpoint.has_value()) << endpoint.error().to_string();
  return std::move(*endpoint);
}

// Runs `coroutine` on `executor`; nullopt if it did not finish within `timeout`.
template <class T>
std::optional<T> run_on(const asio::any_io_executor& executor, Awaitable<T> coroutine,
                        std::chrono::milliseconds timeout = 10s) {
  // use_future needs a default-constructible value; Result<T> is not, so wrap it.
  auto wrap = [](Awaitable<T> inner) -> Awaitable<std::optional<T>> {
    co_return co_await std::move(inner);
  };
  auto future = asio::co_spawn(executor, wrap(std::move(coroutine)), asio::use_future);
  if (future.wait_for(timeout) != std::future_status::ready) return std::nullopt;
  return future.get();
}

// Polls `condition` until it holds or `timeout` passes; returns whether it held. For state that
// settles asynchronously (e.g. the peer processing a close), checked against a deadline.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

inline ByteSpan as_bytes(std::string_view text) {
  return ByteSpan(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

// Connects `client` to `server` on `alpn` from the test thread. nullopt (and a test failure) when
// it fails or times out.
inline std::optional<Connection> connect_on(Endpoint& client, const Endpoint& server,
                                            std::string_view alpn, ConnectOptions options = {}) {
  auto connected =
      run_on(client.executor(),
             client.connect(server.local_address(), server.node_id(), alpn_of(alpn), options));
  if (!connected.has_value()) {
    ADD_FAILURE() << "connect timed out";
    return std::nullopt;
  }
  if (!connected->has_value()) {
    ADD_FAILURE() << "connect failed: " << connected->error().to_string();
    return std::nullopt;
  }
  return **connected;
}

// Closes `connection` on its endpoint's thread, as close() REQUIRES.
inline void close_on(const Endpoint& endpoint, Connection connection) {
  run_on(endpoint.executor(), [](Connection c) -> Awaitable<bool> {
    c.close(0, "done");
    co_return true;
  }(std::move(connection)));
}

// A one-shot value handed from a handler on the endpoint thread to the test thread.
template <class T>
class Mailbox {
 public:
  void put(T value) {
    if (!sent_.exchange(true)) promise_.set_value(std::move(value));
  }
  std::optional<T> take(std::chrono::milliseconds timeout = 10s) {
    if (future_.wait_for(timeout) != std::future_status::ready) return std::nullopt;
    return future_.get();
  }

 private:
  std::promise<T> promise_;
  std::future<T> future_ = promise_.get_future();
  std::atomic<bool> sent_{false};
};

// Echo handler: every bi stream's bytes are sent back, then the stream is finished.
inline ProtocolHandler echo_handler() {
  return [](Connection connection) -> Awaitable<void> {
    for (;;) {
      auto stream = co_await connection.accept_bi();
      if (!stream) co_return;
      auto data = co_await stream->read_to_end(64 << 20);
      if (!data) continue;
      if (!co_await stream->write(*data)) continue;
      (void)co_await stream->finish();
    }
  };
}

}  // namespace p2panda::net::test
