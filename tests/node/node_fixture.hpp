// Nodes for whole-node tests, on the simulated network (SimTransport) or on real QUIC over
// 127.0.0.1, through the public API only (plus NodeConfig's transport factory for the former).
// Waiting is on events with deadlines, never on sleeps.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <p2panda/extensions.hpp>
#include <p2panda/node.hpp>

#include "net/sim_hub.hpp"
#include "net/sim_transport.hpp"
#include "node/config.hpp"

namespace p2panda::test {

using namespace std::chrono_literals;

enum class Net { Sim, Quic };

inline std::string net_name(const testing::TestParamInfo<Net>& info) {
  return info.param == Net::Sim ? "Sim" : "Quic";
}

class Nodes {
 public:
  explicit Nodes(Net kind, net::SimHubConfig sim = {}) : kind_(kind) {
    if (kind_ == Net::Sim) hub_ = net::SimHub::create(sim);
  }

  // A node on this network; `configure` may adjust the builder first.
  Node& add(const std::function<void(NodeBuilder&)>& configure = {}) {
    NodeBuilder builder = p2panda::builder();
    builder.bind_v4("127.0.0.1").sync_retry(200ms);
    // Peers come from introduce_all() only: mDNS would mix in the nodes of parallel tests.
    builder.mdns_mode(MdnsMode::Disabled);
    if (kind_ == Net::Sim) {
      builder.config().transport_factory = [hub = hub_](const PrivateKey& key,
                                                        asio::any_io_executor executor)
          -> Result<std::shared_ptr<net::Transport>> { return hub->add(key, executor); };
    }
    if (configure) configure(builder);
    auto node = builder.spawn_blocking();
    EXPECT_TRUE(node.has_value()) << node.error().to_string();
    nodes_.push_back(std::move(*node));
    return nodes_.back();
  }

  // Every node learns every other (what discovery will do): a full mesh of sync peers.
  void introduce_all() {
    for (auto& a : nodes_) {
      for (auto& b : nodes_) {
        if (a.id() == b.id()) continue;
        ASSERT_TRUE(a.insert_bootstrap(b.id(), b.addresses()));
      }
    }
  }

  Node& operator[](std::size_t i) { return nodes_.at(i); }
  const std::shared_ptr<net::SimHub>& hub() const { return hub_; }

 private:
  Net kind_;
  std::shared_ptr<net::SimHub> hub_;
  std::deque<Node> nodes_;  // stable references
};

// Runs an awaitable of the API on a small io_context of the test's own (as an application with
// its own executor would) and returns its value. The optional is for co_spawn, whose futures
// need default-constructible values.
template <class T>
T run_async(Awaitable<T> task) {
  asio::io_context io;
  auto wrap = [](Awaitable<T> inner) -> Awaitable<std::optional<T>> {
    co_return co_await std::move(inner);
  };
  auto future = asio::co_spawn(io, wrap(std::move(task)), asio::use_future);
  io.run();
  return std::move(*future.get());
}

// Takes events until `done` says so or `timeout` passes; returns everything taken.
template <class T>
std::vector<StreamEvent<T>> collect(Subscription<T>& subscription,
                                    const std::function<bool(const StreamEvent<T>&)>& done,
                                    std::chrono::milliseconds timeout = 10s) {
  std::vector<StreamEvent<T>> events;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return events;
    auto event = subscription.next(left);
    if (!event) {
      ADD_FAILURE() << event.error().to_string();
      return events;
    }
    if (!*event) return events;
    events.push_back(std::move(**event));
    if (done(events.back())) return events;
  }
}

// The messages of the first `count` Processed events (waits for them).
template <class T>
std::vector<T> messages(Subscription<T>& subscription, std::size_t count,
                        std::chrono::milliseconds timeout = 10s) {
  std::vector<T> out;
  if (count == 0) return out;
  collect<T>(
      subscription,
      [&](const StreamEvent<T>& event) {
        if (auto* processed = std::get_if<Processed<T>>(&event)) out.push_back(processed->message);
        return out.size() >= count;
      },
      timeout);
  return out;
}

template <class E, class T>
std::size_t count_of(const std::vector<StreamEvent<T>>& events) {
  std::size_t n = 0;
  for (const auto& event : events) n += std::holds_alternative<E>(event);
  return n;
}

// A node on its own database file, for tests that restart it or reach into its store: QUIC on
// 127.0.0.1, no mDNS, explicit acks (so that a restart replays everything not acked).
inline Result<Node> spawn_on(const std::string& database) {
  return p2panda::builder()
      .database_url("sqlite:" + database)
      .bind_v4("127.0.0.1")
      .mdns_mode(MdnsMode::Disabled)
      .ack_policy(AckPolicy::Explicit)
      .spawn_blocking();
}

}  // namespace p2panda::test
