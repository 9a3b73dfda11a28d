// in_causal_order: the order a causal topic's replay hands operations out in.
#include <gtest/gtest.h>

#include <string>

#include <p2panda/extensions.hpp>

#include "stream/causal_order.hpp"

namespace p2panda::stream {
namespace {

const Topic kTopic = Topic::random();

Operation entry(const PrivateKey& key, std::uint64_t seq, std::optional<Hash> backlink,
                std::vector<Hash> dependencies, const std::string& text) {
  return create_node_operation(key, {.topic = kTopic, .seq_num = SeqNum(seq),
                                     .backlink = backlink, .timestamp = Timestamp::now(),
                                     .body = Body(Bytes(text.begin(), text.end())),
                                     .dependencies = std::move(dependencies)});
}

std::vector<std::string> texts(const std::vector<Operation>& operations) {
  std::vector<std::string> out;
  for (const auto& operation : operations) {
    const auto& bytes = operation.body()->bytes();
    out.emplace_back(bytes.begin(), bytes.end());
  }
  return out;
}

TEST(CausalOrder, DependenciesComeFirstAcrossAuthors) {
  auto a = PrivateKey::generate();
  auto b = PrivateKey::generate();
  auto c = PrivateKey::generate();
  auto a0 = entry(a, 0, std::nullopt, {}, "a0");
  auto b0 = entry(b, 0, std::nullopt, {a0.id()}, "b0");
  auto c0 = entry(c, 0, std::nullopt, {b0.id()}, "c0");
  auto a1 = entry(a, 1, a0.id(), {c0.id()}, "a1");
  // Log order by author, the way a replay reads them: c's log, b's, then a's.
  EXPECT_EQ(texts(in_causal_order({c0, b0, a0, a1})),
            (std::vector<std::string>{"a0", "b0", "c0", "a1"}));
}

TEST(CausalOrder, IndependentOperationsKeepTheirOrder) {
  auto a = PrivateKey::generate();
  auto b = PrivateKey::generate();
  auto b0 = entry(b, 0, std::nullopt, {}, "b0");
  auto a0 = entry(a, 0, std::nullopt, {}, "a0");
  auto a1 = entry(a, 1, a0.id(), {}, "a1");
  EXPECT_EQ(texts(in_causal_order({b0, a0, a1})),
            (std::vector<std::string>{"b0", "a0", "a1"}));
}

TEST(CausalOrder, TheEarlierEntryOfALogComesFirstWithoutAnyRecordedDependency) {
  auto a = PrivateKey::generate();
  auto a0 = entry(a, 0, std::nullopt, {}, "a0");
  auto a1 = entry(a, 1, a0.id(), {}, "a1");
  EXPECT_EQ(texts(in_causal_order({a1, a0})), (std::vector<std::string>{"a0", "a1"}));
}

TEST(CausalOrder, DependenciesOutsideTheBatchAreTakenAsDelivered) {
  auto a = PrivateKey::generate();
  auto b = PrivateKey::generate();
  auto gone = entry(PrivateKey::generate(), 0, std::nullopt, {}, "gone");
  auto b0 = entry(b, 0, std::nullopt, {gone.id()}, "b0");
  auto a0 = entry(a, 0, std::nullopt, {}, "a0");
  EXPECT_EQ(texts(in_causal_order({b0, a0})), (std::vector<std::string>{"b0", "a0"}));
  EXPECT_TRUE(in_causal_order({}).empty());
}

// An entry missing from the batch (a stored row that no longer reads) leaves a gap in its log:
// the entry after it must still wait for the one before it, which waits for Bob. Before, a3's
// backlink named nothing here and it came out ahead of a1.
TEST(CausalOrder, ALogKeepsItsOrderAcrossAGap) {
  auto a = PrivateKey::generate();
  auto b = PrivateKey::generate();
  auto a0 = entry(a, 0, std::nullopt, {}, "a0");
  auto b0 = entry(b, 0, std::nullopt, {a0.id()}, "b0");
  auto a1 = entry(a, 1, a0.id(), {b0.id()}, "a1");
  auto a2 = entry(a, 2, a1.id(), {}, "a2");  // left out
  auto a3 = entry(a, 3, a2.id(), {}, "a3");
  auto a4 = entry(a, 4, a3.id(), {}, "a4");
  EXPECT_EQ(texts(in_causal_order({a0, a1, a3, a4, b0})),
            (std::vector<std::string>{"a0", "b0", "a1", "a3", "a4"}));
}

}  // namespace
}  // namespace p2panda::stream
