// The hardened topic handshake: agreement without sending the topic, rejection that reveals
// nothing, proofs bound to one connection and one role, and errors for messages out of turn.
#include "sync/hardened_handshake.hpp"

#include <algorithm>
#include <random>

#include "../core/test_util.hpp"

namespace p2panda::sync {
namespace {

using test::hex;

template <class T>
T filled(std::uint8_t byte) {
  return *T::from_bytes(Bytes(32, byte));
}

const NodeId kAlice = filled<NodeId>(0xa1);
const NodeId kBob = filled<NodeId>(0xb0);

struct Connection {
  HandshakeNonce initiator_nonce = filled<HandshakeNonce>(0x11);
  HandshakeNonce acceptor_nonce = filled<HandshakeNonce>(0x22);
  NodeId initiator = kAlice;
  NodeId acceptor = kBob;
};

HardenedInitiator make_initiator(const Topic& topic, const Connection& c = {}) {
  return HardenedInitiator(topic, c.initiator_nonce, {.local = c.initiator, .remote = c.acceptor});
}
HardenedAcceptor make_acceptor(std::vector<Topic> topics, const Connection& c = {}) {
  return HardenedAcceptor(std::move(topics), c.acceptor_nonce,
                          {.local = c.acceptor, .remote = c.initiator});
}

// Runs both sides to the end, recording every payload sent in either direction.
struct Outcome {
  std::vector<Bytes> transcript;
  HandshakeStatus initiator = HandshakeStatus::InProgress;
  HandshakeStatus acceptor = HandshakeStatus::InProgress;
};

Outcome run_handshake(HardenedInitiator& initiator, HardenedAcceptor& acceptor) {
  Outcome out;
  std::vector<Bytes> to_acceptor{initiator.start()};
  std::vector<Bytes> to_initiator;
  while (!to_acceptor.empty() || !to_initiator.empty()) {
    for (auto& payload : std::exchange(to_acceptor, {})) {
      out.transcript.push_back(payload);
      auto step = acceptor.handle(payload);
      if (!step) ADD_FAILURE() << step.error().to_string();
      if (step) to_initiator.insert(to_initiator.end(), step->send.begin(), step->send.end());
    }
    for (auto& payload : std::exchange(to_initiator, {})) {
      out.transcript.push_back(payload);
      auto step = initiator.handle(payload);
      if (!step) ADD_FAILURE() << step.error().to_string();
      if (step) to_acceptor.insert(to_acceptor.end(), step->send.begin(), step->send.end());
    }
  }
  out.initiator = initiator.status();
  out.acceptor = acceptor.status();
  return out;
}

bool contains(const std::vector<Bytes>& transcript, const Topic& topic) {
  return std::any_of(transcript.begin(), transcript.end(), [&](const Bytes& payload) {
    return std::search(payload.begin(), payload.end(), topic.bytes().begin(),
                       topic.bytes().end()) != payload.end();
  });
}

TEST(HardenedHandshake, AgreesOnASharedTopic) {
  const Topic topic = filled<Topic>(7);
  auto initiator = make_initiator(topic);
  auto acceptor = make_acceptor({topic});
  const Outcome result = run_handshake(initiator, acceptor);
  EXPECT_EQ(result.initiator, HandshakeStatus::Done);
  EXPECT_EQ(result.acceptor, HandshakeStatus::Done);
  EXPECT_EQ(acceptor.topic(), topic);
  EXPECT_EQ(result.transcript.size(), 4u);  // Hello, Challenge, Proof, Proof
  EXPECT_FALSE(contains(result.transcript, topic));
  EXPECT_EQ(initiator.handle_end(), HandshakeStatus::Done);
  EXPECT_EQ(acceptor.handle_end(), HandshakeStatus::Done);
}

TEST(HardenedHandshake, AcceptorPicksTheRightTopicAmongSeveral) {
  std::vector<Topic> followed;
  for (std::uint8_t i = 1; i <= 9; ++i) followed.push_back(filled<Topic>(i));
  for (const Topic& wanted : followed) {
    auto initiator = make_initiator(wanted);
    auto acceptor = make_acceptor(followed);
    const Outcome result = run_handshake(initiator, acceptor);
    EXPECT_EQ(result.initiator, HandshakeStatus::Done);
    EXPECT_EQ(acceptor.topic(), wanted);
    for (const Topic& topic : followed) EXPECT_FALSE(contains(result.transcript, topic));
  }
}

TEST(HardenedHandshake, UnknownTopicIsRejectedWithoutRevealingIt) {
  const Topic wanted = filled<Topic>(7);
  const std::vector<Topic> followed = {filled<Topic>(1), filled<Topic>(2)};
  auto initiator = make_initiator(wanted);
  auto acceptor = make_acceptor(followed);
  const Outcome result = run_handshake(initiator, acceptor);
  EXPECT_EQ(result.initiator, HandshakeStatus::Rejected);
  EXPECT_EQ(result.acceptor, HandshakeStatus::Rejected);
  EXPECT_FALSE(acceptor.topic().has_value());
  ASSERT_EQ(result.transcript.size(), 4u);  // Hello, Challenge, Proof, Reject
  EXPECT_EQ(result.transcript.back(), hex("03"));
  EXPECT_FALSE(contains(result.transcript, wanted));
  for (const Topic& topic : followed) EXPECT_FALSE(contains(result.transcript, topic));
  EXPECT_FALSE(acceptor.handle(hex("03")).has_value());  // over
}

TEST(HardenedHandshake, AcceptorFollowingNothingRejects) {
  auto initiator = make_initiator(filled<Topic>(7));
  auto acceptor = make_acceptor({});
  EXPECT_EQ(run_handshake(initiator, acceptor).initiator, HandshakeStatus::Rejected);
}

TEST(HardenedHandshake, TamperedProofsFail) {
  const Topic topic = filled<Topic>(7);
  {  // The initiator's proof altered: the acceptor finds no topic.
    auto initiator = make_initiator(topic);
    auto acceptor = make_acceptor({topic});
    auto challenge = acceptor.handle(initiator.start());
    ASSERT_OK(challenge);
    auto proof = initiator.handle(challenge->send.at(0));
    ASSERT_OK(proof);
    Bytes tampered = proof->send.at(0);
    tampered[5] ^= 0x01;
    auto reply = acceptor.handle(tampered);
    ASSERT_OK(reply);
    EXPECT_EQ(reply->status, HandshakeStatus::Rejected);
  }
  {  // The acceptor's proof altered: the initiator fails.
    auto initiator = make_initiator(topic);
    auto acceptor = make_acceptor({topic});
    auto challenge = acceptor.handle(initiator.start());
    ASSERT_OK(challenge);
    auto proof = initiator.handle(challenge->send.at(0));
    ASSERT_OK(proof);
    auto reply = acceptor.handle(proof->send.at(0));
    ASSERT_OK(reply);
    Bytes tampered = reply->send.at(0);
    tampered.back() ^= 0x80;
    EXPECT_ERRC(initiator.handle(tampered), HandshakeProofInvalid);
    EXPECT_EQ(initiator.status(), HandshakeStatus::Failed);
  }
}

// The initiator's proof from connection `a`, presented to an acceptor on connection `b`.
HandshakeStatus replay(const Connection& a, const Connection& b) {
  const Topic topic = filled<Topic>(7);
  auto initiator = make_initiator(topic, a);
  auto original = make_acceptor({topic}, a);
  auto challenge = original.handle(initiator.start());
  auto proof = initiator.handle(challenge->send.at(0));
  auto victim = make_acceptor({topic}, b);
  if (!victim.handle(encode_hardened_handshake(Hello{a.initiator_nonce}))) {
    return HandshakeStatus::Failed;
  }
  auto reply = victim.handle(proof->send.at(0));
  return reply ? reply->status : HandshakeStatus::Failed;
}

TEST(HardenedHandshake, ProofsDoNotTransferToOtherConnections) {
  const Connection base;
  EXPECT_EQ(replay(base, base), HandshakeStatus::Done);  // the control
  Connection other_nonce = base;
  other_nonce.acceptor_nonce = filled<HandshakeNonce>(0x23);
  EXPECT_EQ(replay(base, other_nonce), HandshakeStatus::Rejected);
  Connection other_initiator = base;
  other_initiator.initiator = filled<NodeId>(0xa2);
  EXPECT_EQ(replay(base, other_initiator), HandshakeStatus::Rejected);
  Connection other_acceptor = base;
  other_acceptor.acceptor = filled<NodeId>(0xb1);
  EXPECT_EQ(replay(base, other_acceptor), HandshakeStatus::Rejected);
}

TEST(HardenedHandshake, ProofsAreBoundToTheirRole) {
  const Topic topic = filled<Topic>(7);
  const Connection c;
  const HandshakeMac as_initiator =
      handshake_mac(topic, HandshakeRole::Initiator, c.initiator_nonce, c.acceptor_nonce,
                    c.initiator, c.acceptor);
  const HandshakeMac as_acceptor = handshake_mac(topic, HandshakeRole::Acceptor, c.initiator_nonce,
                                                 c.acceptor_nonce, c.initiator, c.acceptor);
  EXPECT_NE(as_initiator, as_acceptor);
  // Reflection: the acceptor's own kind of proof does not open the acceptor.
  auto acceptor = make_acceptor({topic}, c);
  ASSERT_OK(acceptor.handle(encode_hardened_handshake(Hello{c.initiator_nonce})));
  auto reply = acceptor.handle(encode_hardened_handshake(Proof{as_acceptor}));
  ASSERT_OK(reply);
  EXPECT_EQ(reply->status, HandshakeStatus::Rejected);
  // Echoing the initiator's proof back does not satisfy the initiator.
  auto initiator = make_initiator(topic, c);
  initiator.start();
  ASSERT_OK(initiator.handle(encode_hardened_handshake(Challenge{c.acceptor_nonce})));
  EXPECT_ERRC(initiator.handle(encode_hardened_handshake(Proof{as_initiator})), HandshakeProofInvalid);
}

TEST(HardenedHandshake, MacInputLayoutIsPinned) {
  // docs/sync.md: keyed BLAKE3(topic; text(protocol id) text(role) nonce_i nonce_a id_i id_a).
  const Topic topic = filled<Topic>(7);
  const Connection c;
  for (const auto& [role, label] : {std::pair{HandshakeRole::Initiator, "initiator"},
                                    std::pair{HandshakeRole::Acceptor, "acceptor"}}) {
    Bytes input;
    const auto append = [&](ByteSpan bytes) {
      input.insert(input.end(), bytes.begin(), bytes.end());
    };
    input.push_back(30);  // the length of the protocol id
    append(as_bytes("p2panda-cpp/topic_handshake/v1"));
    input.push_back(static_cast<std::uint8_t>(std::string_view(label).size()));
    append(as_bytes(label));
    append(c.initiator_nonce.bytes());
    append(c.acceptor_nonce.bytes());
    append(c.initiator.bytes());
    append(c.acceptor.bytes());
    const Hash expected = Hasher::keyed(topic.array()).update(input).finalize();
    EXPECT_EQ(
        handshake_mac(topic, role, c.initiator_nonce, c.acceptor_nonce, c.initiator, c.acceptor)
            .to_hex(),
        expected.to_hex());
  }
  // The vector in docs/sync.md.
  EXPECT_EQ(handshake_mac(topic, HandshakeRole::Initiator, c.initiator_nonce, c.acceptor_nonce,
                          c.initiator, c.acceptor)
                .to_hex(),
            "6cb24681dcf50d2cadef9ed21df6c618bae356fbaef1e2f4e0fc3ae53e492cc2");
  EXPECT_EQ(handshake_mac(topic, HandshakeRole::Acceptor, c.initiator_nonce, c.acceptor_nonce,
                          c.initiator, c.acceptor)
                .to_hex(),
            "eb109c04366836f93fd959fba075aa422762d161abfcf38be7a4bcafc4bd53ce");
}

TEST(HardenedHandshake, MessageEncoding) {
  const Bytes nonce(32, 0x11);
  EXPECT_EQ(to_hex(encode_hardened_handshake(Hello{filled<HandshakeNonce>(0x11)})),
            "00" + to_hex(nonce));
  EXPECT_EQ(to_hex(encode_hardened_handshake(Challenge{filled<HandshakeNonce>(0x11)})),
            "01" + to_hex(nonce));
  EXPECT_EQ(to_hex(encode_hardened_handshake(Proof{filled<HandshakeMac>(0x11)})),
            "02" + to_hex(nonce));
  EXPECT_EQ(to_hex(encode_hardened_handshake(Reject{})), "03");
  for (const std::string prefix : {"00", "01", "02"}) {
    auto decoded = decode_hardened_handshake(hex(prefix + to_hex(nonce)));
    ASSERT_OK(decoded);
    EXPECT_EQ(to_hex(encode_hardened_handshake(*decoded)), prefix + to_hex(nonce));
    EXPECT_ERRC(decode_hardened_handshake(hex(prefix + to_hex(nonce) + "00")),
                PostcardTrailingBytes);
    EXPECT_ERRC(decode_hardened_handshake(hex(prefix + to_hex(Bytes(31, 0x11)))),
                PostcardTruncated);
  }
  EXPECT_ERRC(decode_hardened_handshake(hex("04")), PostcardInvalidValue);
  EXPECT_ERRC(decode_hardened_handshake(hex("0300")), PostcardTrailingBytes);
  EXPECT_ERRC(decode_hardened_handshake(hex("8300")), PostcardNonCanonical);
  EXPECT_ERRC(decode_hardened_handshake({}), PostcardTruncated);
}

TEST(HardenedHandshake, MessagesOutOfTurnFail) {
  const Topic topic = filled<Topic>(7);
  const Bytes hello = encode_hardened_handshake(Hello{filled<HandshakeNonce>(1)});
  const Bytes challenge = encode_hardened_handshake(Challenge{filled<HandshakeNonce>(2)});
  const Bytes proof = encode_hardened_handshake(Proof{filled<HandshakeMac>(3)});
  for (const Bytes& first : {challenge, proof, hex("03")}) {
    auto acceptor = make_acceptor({topic});
    EXPECT_ERRC(acceptor.handle(first), SyncProtocolViolation);
    EXPECT_EQ(acceptor.handle_end(), HandshakeStatus::Failed);
  }
  for (const Bytes& second : {hello, challenge, hex("03")}) {
    auto acceptor = make_acceptor({topic});
    ASSERT_OK(acceptor.handle(hello));
    EXPECT_ERRC(acceptor.handle(second), SyncProtocolViolation);
  }
  for (const Bytes& first : {hello, proof}) {
    auto initiator = make_initiator(topic);
    EXPECT_ERRC(initiator.handle(challenge), InvalidArgument);  // before start()
    initiator.start();
    EXPECT_ERRC(initiator.handle(first), SyncProtocolViolation);
    EXPECT_ERRC(initiator.handle(challenge), InvalidArgument);  // over
  }
  for (const Bytes& second : {hello, challenge}) {
    auto initiator = make_initiator(topic);
    initiator.start();
    ASSERT_OK(initiator.handle(challenge));
    EXPECT_ERRC(initiator.handle(second), SyncProtocolViolation);
  }
  auto initiator = make_initiator(topic);
  initiator.start();
  EXPECT_EQ(initiator.handle_end(), HandshakeStatus::Failed);  // the acceptor always answers
}

TEST(HardenedHandshake, GarbageNeverCrashes) {
  std::mt19937 engine(5);
  const Topic topic = filled<Topic>(7);
  for (int i = 0; i < 5000; ++i) {
    Bytes payload(engine() % 40);
    for (auto& byte : payload) byte = static_cast<std::uint8_t>(engine() % 3 == 0 ? 0 : engine());
    auto acceptor = make_acceptor({topic});
    if (acceptor.handle(payload)) (void)acceptor.handle(payload);
    auto initiator = make_initiator(topic);
    initiator.start();
    if (initiator.handle(payload)) (void)initiator.handle(payload);
  }
}

}  // namespace
}  // namespace p2panda::sync
