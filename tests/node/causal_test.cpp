// Causal multi-writer streams: three writers build a chain a -> b -> c (each publishes after
// seeing the previous one, so each depends on it), and a fourth node that joins later must never
// see an operation before its dependencies, whatever order the network hands them over in.
#include <algorithm>

#include "node_fixture.hpp"

namespace p2panda::test {
namespace {

// Keys whose public keys sort c < b < a. Log sync sends what a peer lacks in ascending author
// order, so a late joiner syncing from C receives c, then b, then a: the reverse of causal order,
// which without the orderer is the order it would deliver them in.
std::vector<PrivateKey> keys_sorted_descending(std::size_t n) {
  std::vector<PrivateKey> keys;
  for (std::size_t i = 0; i < n; ++i) keys.push_back(PrivateKey::generate());
  std::sort(keys.begin(), keys.end(), [](const PrivateKey& x, const PrivateKey& y) {
    return y.public_key() < x.public_key();
  });
  return keys;
}

StreamOptions causal_options() {
  StreamOptions options;
  options.causal = true;
  return options;
}

// Waits until `subscription` has delivered `text`; returns everything it delivered until then.
std::vector<std::string> until(Subscription<std::string>& subscription, const std::string& text) {
  std::vector<std::string> seen;
  collect<std::string>(subscription, [&](const auto& event) {
    if (auto* processed = std::get_if<Processed<std::string>>(&event)) {
      seen.push_back(processed->message);
    }
    return !seen.empty() && seen.back() == text;
  });
  return seen;
}

std::size_t index_of(const std::vector<std::string>& seen, const std::string& text) {
  return static_cast<std::size_t>(std::find(seen.begin(), seen.end(), text) - seen.begin());
}

TEST(NodeCausal, ThreeWritersAreDeliveredInCausalOrderOnEveryNode) {
  net::SimHubConfig sim;
  sim.seed = 7;
  sim.link.delay = std::chrono::milliseconds(2);
  sim.link.jitter = std::chrono::milliseconds(20);  // reorders across sessions
  Nodes nodes(Net::Sim, sim);
  auto keys = keys_sorted_descending(3);
  std::vector<Node*> writers;
  for (auto& key : keys) {
    writers.push_back(&nodes.add([key](NodeBuilder& builder) { builder.private_key(key); }));
  }
  auto topic = Topic::random();
  std::vector<Stream<std::string>> streams;
  for (Node* writer : writers) {
    auto stream = writer->stream_blocking<std::string>(topic, causal_options());
    ASSERT_TRUE(stream) << stream.error().to_string();
    streams.push_back(std::move(*stream));
  }
  nodes.introduce_all();

  // The chain: each writer publishes once it has seen the previous link.
  const std::vector<std::string> chain = {"a", "b", "c"};
  for (std::size_t i = 0; i < chain.size(); ++i) {
    if (i > 0) {
      auto seen = until(streams[i].subscription, chain[i - 1]);
      ASSERT_FALSE(seen.empty());
      ASSERT_EQ(seen.back(), chain[i - 1]);
    }
    ASSERT_TRUE(streams[i].publisher.publish_blocking(chain[i]));
  }

  // A late joiner that only knows C: it receives c before b before a over one session.
  auto& late = nodes.add();
  auto on_late = late.stream_blocking<std::string>(topic, causal_options());
  ASSERT_TRUE(on_late);
  ASSERT_TRUE(late.insert_bootstrap(writers[2]->id(), writers[2]->addresses()));
  std::vector<std::string> seen;
  collect<std::string>(on_late->subscription, [&](const auto& event) {
    if (auto* processed = std::get_if<Processed<std::string>>(&event)) {
      seen.push_back(processed->message);
    }
    return seen.size() == 3;
  });
  EXPECT_EQ(seen, chain);

  // And every writer saw the chain in order too.
  for (std::size_t w = 0; w < streams.size(); ++w) {
    auto all = until(streams[w].subscription, "c");
    // Writers already consumed part of the chain above; what remains must keep its order.
    for (std::size_t i = 1; i < all.size(); ++i) {
      EXPECT_LT(index_of(chain, all[i - 1]), index_of(chain, all[i])) << "writer " << w;
    }
  }
}

}  // namespace
}  // namespace p2panda::test
