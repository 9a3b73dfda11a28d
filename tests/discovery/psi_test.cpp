// The salted-hash PSI machines: both sides find exactly the common topics, learn nothing else, pass
// on only nodes that share a topic, and fail cleanly on anything out of turn.
#include "discovery/psi.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace p2panda::discovery {
namespace {

template <class T>
T filled(std::uint8_t byte) {
  std::array<std::uint8_t, 32> bytes{};
  bytes.fill(byte);
  return T(bytes);
}

Topic topic(std::uint8_t byte) { return filled<Topic>(byte); }

// A transport info told apart by its timestamp (the machines never look inside).
TransportInfo marker(std::uint64_t n) { return TransportInfo{{n, 0}, {}, std::nullopt, {}}; }

// A small address book: which topics each known node shares, and its transport info.
struct Book {
  NodeId me;
  std::map<NodeId, std::set<Topic>> topics;

  ShareFn share() const {
    return [this](const std::set<Topic>& common) {
      TransportInfos infos{{me, marker(1)}};
      for (const auto& [node, node_topics] : topics) {
        if (std::any_of(common.begin(), common.end(),
                        [&](const Topic& t) { return node_topics.contains(t); })) {
          infos[node] = marker(node.bytes()[0]);
        }
      }
      return infos;
    };
  }
};

struct Transcript {
  std::vector<Bytes> alice_to_bob;
  std::vector<Bytes> bob_to_alice;
};

// Runs a whole session in memory; returns the transcript.
Transcript run(PsiAlice& alice, PsiBob& bob) {
  Transcript transcript;
  std::vector<Bytes> to_bob{alice.start().value()};
  while (!to_bob.empty()) {
    std::vector<Bytes> to_alice;
    for (const auto& payload : to_bob) {
      transcript.alice_to_bob.push_back(payload);
      auto step = bob.handle(payload);
      EXPECT_TRUE(step) << step.error().to_string();
      if (!step) return transcript;
      to_alice.insert(to_alice.end(), step->send.begin(), step->send.end());
    }
    to_bob.clear();
    for (const auto& payload : to_alice) {
      transcript.bob_to_alice.push_back(payload);
      auto step = alice.handle(payload);
      EXPECT_TRUE(step) << step.error().to_string();
      if (!step) return transcript;
      to_bob.insert(to_bob.end(), step->send.begin(), step->send.end());
    }
  }
  return transcript;
}

bool contains_bytes(const Bytes& haystack, ByteSpan needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

TEST(Psi, SaltIsAliceHalfBobHalfRoleByte) {
  const Salt salt = session_salt(filled<SaltHalf>(0xa1), filled<SaltHalf>(0xb2), Role::Bob);
  EXPECT_TRUE(std::all_of(salt.begin(), salt.begin() + 32, [](auto b) { return b == 0xa1; }));
  EXPECT_TRUE(std::all_of(salt.begin() + 32, salt.begin() + 64, [](auto b) { return b == 0xb2; }));
  EXPECT_EQ(salt[64], 0x01);
  EXPECT_EQ(session_salt(filled<SaltHalf>(0), filled<SaltHalf>(0), Role::Alice)[64], 0x00);
  // hashed(t) = BLAKE3(t || salt)
  Bytes input(32 + salt.size(), 0x07);
  std::copy(salt.begin(), salt.end(), input.begin() + 32);
  EXPECT_EQ(hash_topic(topic(7), salt).array(), Hash::digest(input).array());
}

TEST(Psi, BothSidesFindExactlyTheCommonTopics) {
  // As p2panda's own test: Alice {1, 2, 98, 99}, Bob {2, 3, 99, 100}.
  const NodeId a = filled<NodeId>(0xa0), b = filled<NodeId>(0xb0);
  Book alice_book{a, {}}, bob_book{b, {}};
  PsiAlice alice({topic(1), topic(2), topic(98), topic(99)}, filled<SaltHalf>(0x11),
                 alice_book.share());
  PsiBob bob({topic(2), topic(3), topic(99), topic(100)}, filled<SaltHalf>(0x22), bob_book.share());
  const Transcript transcript = run(alice, bob);
  ASSERT_EQ(alice.status(), PsiStatus::Done);
  ASSERT_EQ(bob.status(), PsiStatus::Done);
  const std::set<Topic> expected{topic(2), topic(99)};
  EXPECT_EQ(alice.result().common_topics, expected);
  EXPECT_EQ(bob.result().common_topics, expected);
  // Each learned the other's own info.
  EXPECT_EQ(alice.result().transport_infos, (TransportInfos{{b, marker(1)}}));
  EXPECT_EQ(bob.result().transport_infos, (TransportInfos{{a, marker(1)}}));
  // Three messages from Alice, two from Bob, in p2panda's order.
  ASSERT_EQ(transcript.alice_to_bob.size(), 3u);
  ASSERT_EQ(transcript.bob_to_alice.size(), 2u);
  EXPECT_EQ(bob.handle_end(), PsiStatus::Done);
  EXPECT_EQ(alice.handle_end(), PsiStatus::Done);
}

TEST(Psi, TranscriptNeverCarriesARawTopic) {
  std::set<Topic> mine, theirs;
  for (std::uint8_t i = 1; i <= 20; ++i) (i % 2 ? mine : theirs).insert(Topic::random());
  const Topic shared = Topic::random();
  mine.insert(shared);
  theirs.insert(shared);
  PsiAlice alice(mine, filled<SaltHalf>(1), {});
  PsiBob bob(theirs, filled<SaltHalf>(2), {});
  const Transcript transcript = run(alice, bob);
  ASSERT_EQ(alice.status(), PsiStatus::Done);
  EXPECT_EQ(alice.result().common_topics, std::set<Topic>{shared});
  EXPECT_EQ(bob.result().common_topics, std::set<Topic>{shared});
  for (const auto* side : {&transcript.alice_to_bob, &transcript.bob_to_alice}) {
    for (const auto& payload : *side) {
      for (const auto& t : mine) EXPECT_FALSE(contains_bytes(payload, t.bytes()));
      for (const auto& t : theirs) EXPECT_FALSE(contains_bytes(payload, t.bytes()));
    }
  }
}

TEST(Psi, HashesDifferPerSessionAndPerRole) {
  const std::set<Topic> topics{topic(5)};
  const Salt a1 = session_salt(filled<SaltHalf>(1), filled<SaltHalf>(2), Role::Alice);
  const Salt b1 = session_salt(filled<SaltHalf>(1), filled<SaltHalf>(2), Role::Bob);
  const Salt a2 = session_salt(filled<SaltHalf>(3), filled<SaltHalf>(2), Role::Alice);
  EXPECT_NE(hash_topics(topics, a1), hash_topics(topics, b1));
  EXPECT_NE(hash_topics(topics, a1), hash_topics(topics, a2));
}

TEST(Psi, AliceReflectingBobsHashesLearnsNothing) {
  // Without the role byte, Alice could echo Bob's set back and make him believe she shares all
  // his topics.
  PsiBob bob({topic(1), topic(2)}, filled<SaltHalf>(2), {});
  auto step = bob.handle(encode_psi_hash(AliceSaltHalf{filled<SaltHalf>(1)}));
  ASSERT_TRUE(step);
  auto bob_message = decode_psi_hash(step->send.at(0));
  const auto& hashes = std::get<BobSaltHalfAndHashedData>(*bob_message).topics_for_alice;
  ASSERT_TRUE(bob.handle(encode_psi_hash(AliceHashedData{hashes})));
  ASSERT_TRUE(bob.handle(encode_psi_hash(Nodes{})));
  EXPECT_TRUE(bob.result().common_topics.empty());
}

TEST(Psi, OnlyNodesSharingACommonTopicArePassedOn) {
  const NodeId a = filled<NodeId>(0xa0), b = filled<NodeId>(0xb0);
  const NodeId n1 = filled<NodeId>(1), n2 = filled<NodeId>(2), n3 = filled<NodeId>(3);
  // Bob knows n1 (topic 2, shared with Alice), n2 (topic 3, Bob only) and n3 (topic 7, nobody).
  Book bob_book{b, {{n1, {topic(2)}}, {n2, {topic(3)}}, {n3, {topic(7)}}}};
  Book alice_book{a, {{n3, {topic(1)}}}};
  PsiAlice alice({topic(1), topic(2)}, filled<SaltHalf>(1), alice_book.share());
  PsiBob bob({topic(2), topic(3)}, filled<SaltHalf>(2), bob_book.share());
  run(alice, bob);
  ASSERT_EQ(alice.status(), PsiStatus::Done);
  std::set<NodeId> learned;
  for (const auto& [node, info] : alice.result().transport_infos) learned.insert(node);
  EXPECT_EQ(learned, (std::set<NodeId>{b, n1}));
  // Alice's n3 shares only topic 1, which Bob lacks: Bob hears of nobody but Alice.
  EXPECT_EQ(bob.result().transport_infos.size(), 1u);
  EXPECT_TRUE(bob.result().transport_infos.contains(a));
}

TEST(Psi, ShareIsCalledWithTheIntersection) {
  std::set<Topic> seen_by_alice, seen_by_bob;
  PsiAlice alice({topic(1), topic(2)}, filled<SaltHalf>(1), [&](const std::set<Topic>& common) {
    seen_by_alice = common;
    return TransportInfos{};
  });
  PsiBob bob({topic(2)}, filled<SaltHalf>(2), [&](const std::set<Topic>& common) {
    seen_by_bob = common;
    return TransportInfos{};
  });
  run(alice, bob);
  EXPECT_EQ(seen_by_alice, std::set<Topic>{topic(2)});
  EXPECT_EQ(seen_by_bob, std::set<Topic>{topic(2)});
}

TEST(Psi, NoTopicsAtAllStillCompletes) {
  PsiAlice alice({}, filled<SaltHalf>(1), {});
  PsiBob bob({}, filled<SaltHalf>(2), {});
  run(alice, bob);
  EXPECT_EQ(alice.status(), PsiStatus::Done);
  EXPECT_TRUE(alice.result().common_topics.empty());
  EXPECT_TRUE(bob.result().transport_infos.empty());
}

TEST(Psi, OutOfTurnMessagesFailTheSession) {
  const Bytes nodes = encode_psi_hash(Nodes{});
  PsiBob bob({topic(1)}, filled<SaltHalf>(2), {});
  auto step = bob.handle(nodes);
  ASSERT_FALSE(step);
  EXPECT_EQ(step.error().code(), Errc::SyncProtocolViolation);
  EXPECT_EQ(bob.status(), PsiStatus::Failed);
  EXPECT_EQ(bob.handle(nodes).error().code(), Errc::InvalidArgument);  // after failing

  PsiAlice alice({topic(1)}, filled<SaltHalf>(1), {});
  EXPECT_EQ(alice.handle(nodes).error().code(), Errc::InvalidArgument);  // before start()
  ASSERT_TRUE(alice.start());
  EXPECT_EQ(alice.start().error().code(), Errc::InvalidArgument);
  EXPECT_EQ(alice.handle(nodes).error().code(), Errc::SyncProtocolViolation);
  EXPECT_EQ(alice.status(), PsiStatus::Failed);

  PsiBob bob2({topic(1)}, filled<SaltHalf>(2), {});
  ASSERT_TRUE(bob2.handle(encode_psi_hash(AliceSaltHalf{})));
  EXPECT_EQ(bob2.handle(encode_psi_hash(AliceSaltHalf{})).error().code(),
            Errc::SyncProtocolViolation);
}

TEST(Psi, GarbageAndEarlyEndFailTheSession) {
  PsiBob bob({topic(1)}, filled<SaltHalf>(2), {});
  EXPECT_EQ(bob.handle(Bytes{0x09}).error().code(), Errc::PostcardInvalidValue);
  EXPECT_EQ(bob.status(), PsiStatus::Failed);

  PsiAlice alice({topic(1)}, filled<SaltHalf>(1), {});
  ASSERT_TRUE(alice.start());
  EXPECT_EQ(alice.handle_end(), PsiStatus::Failed);
}

TEST(Psi, OversizedSetsAreRefused) {
  const MessageLimits limits{.max_topics = 2, .max_nodes = 1, .transport_info = {}};
  PsiBob bob({topic(1)}, filled<SaltHalf>(2), {}, limits);
  ASSERT_TRUE(bob.handle(encode_psi_hash(AliceSaltHalf{})));
  const AliceHashedData big{
      {filled<HashedTopic>(1), filled<HashedTopic>(2), filled<HashedTopic>(3)}};
  EXPECT_EQ(bob.handle(encode_psi_hash(big)).error().code(), Errc::PostcardInvalidValue);

  // We never send more than a remote with the same limits accepts.
  PsiAlice alice({topic(1), topic(2), topic(3)}, filled<SaltHalf>(1), {}, limits);
  EXPECT_EQ(alice.start().error().code(), Errc::InvalidArgument);
  PsiBob sharer(
      {topic(1)}, filled<SaltHalf>(2),
      [](const std::set<Topic>&) {
        return TransportInfos{{filled<NodeId>(1), {}}, {filled<NodeId>(2), {}}};
      },
      limits);
  ASSERT_TRUE(sharer.handle(encode_psi_hash(AliceSaltHalf{})));
  EXPECT_EQ(sharer.handle(encode_psi_hash(AliceHashedData{})).error().code(),
            Errc::InvalidArgument);
}

}  // namespace
}  // namespace p2panda::discovery
