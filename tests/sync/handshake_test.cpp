// The compatible (p2panda 0.7) topic handshake: the flow, rejection, and errors for messages out
// of turn or malformed. The hardened handshake has its own file.
#include "sync/handshake.hpp"

#include <random>

#include "../core/test_util.hpp"

namespace p2panda::sync {
namespace {

using test::hex;

Topic topic_of(std::uint8_t byte) { return *Topic::from_bytes(Bytes(32, byte)); }

auto follows_only(const Topic& followed, int* calls = nullptr) {
  return [followed, calls](const Topic& topic) {
    if (calls) ++*calls;
    return topic == followed;
  };
}

TEST(Handshake, AcceptorFollowingTheTopicAgrees) {
  int calls = 0;
  HandshakeInitiator initiator(topic_of(7));
  HandshakeAcceptor acceptor(follows_only(topic_of(7), &calls));

  const Bytes hello = initiator.start();
  EXPECT_EQ(to_hex(hello), "0020" + to_hex(Bytes(32, 7)));
  auto accepted = acceptor.handle(hello);
  ASSERT_OK(accepted);
  EXPECT_EQ(accepted->status, HandshakeStatus::InProgress);
  ASSERT_EQ(accepted->send.size(), 1u);
  EXPECT_EQ(accepted->send[0], hex("01"));
  EXPECT_EQ(acceptor.topic(), topic_of(7));

  auto confirmed = initiator.handle(accepted->send[0]);
  ASSERT_OK(confirmed);
  EXPECT_EQ(confirmed->status, HandshakeStatus::Done);
  ASSERT_EQ(confirmed->send.size(), 1u);
  EXPECT_TRUE(initiator.done());

  auto finished = acceptor.handle(confirmed->send[0]);
  ASSERT_OK(finished);
  EXPECT_EQ(finished->status, HandshakeStatus::Done);
  EXPECT_TRUE(finished->send.empty());
  EXPECT_TRUE(acceptor.done());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(initiator.handle_end(), HandshakeStatus::Done);
}

TEST(Handshake, AcceptorNotFollowingRejectsSilently) {
  HandshakeInitiator initiator(topic_of(7));
  HandshakeAcceptor acceptor(follows_only(topic_of(8)));
  auto step = acceptor.handle(initiator.start());
  ASSERT_OK(step);
  EXPECT_EQ(step->status, HandshakeStatus::Rejected);
  EXPECT_TRUE(step->send.empty());
  EXPECT_FALSE(acceptor.topic().has_value());
  EXPECT_EQ(acceptor.status(), HandshakeStatus::Rejected);
  // The initiator only sees the stream end.
  EXPECT_EQ(initiator.status(), HandshakeStatus::InProgress);
  EXPECT_EQ(initiator.handle_end(), HandshakeStatus::Rejected);
  EXPECT_ERRC(initiator.handle(hex("01")), InvalidArgument);
  EXPECT_ERRC(acceptor.handle(hex("01")), InvalidArgument);
}

TEST(Handshake, MessagesOutOfTurnFail) {
  {
    HandshakeAcceptor acceptor(follows_only(topic_of(1)));
    EXPECT_ERRC(acceptor.handle(hex("01")), SyncProtocolViolation);  // Done before Topic
    EXPECT_EQ(acceptor.status(), HandshakeStatus::Failed);
    EXPECT_ERRC(acceptor.handle(encode_topic_handshake(HandshakeTopic{topic_of(1)})),
                InvalidArgument);
  }
  {
    HandshakeAcceptor acceptor(follows_only(topic_of(1)));
    const Bytes topic = encode_topic_handshake(HandshakeTopic{topic_of(1)});
    ASSERT_OK(acceptor.handle(topic));
    EXPECT_ERRC(acceptor.handle(topic), SyncProtocolViolation);  // a second Topic
  }
  {
    HandshakeInitiator initiator(topic_of(1));
    EXPECT_ERRC(initiator.handle(hex("01")), InvalidArgument);  // before start()
    EXPECT_EQ(initiator.handle_end(), HandshakeStatus::Failed);
  }
  {
    HandshakeInitiator initiator(topic_of(1));
    initiator.start();
    EXPECT_ERRC(initiator.handle(encode_topic_handshake(HandshakeTopic{topic_of(1)})),
                SyncProtocolViolation);
    EXPECT_EQ(initiator.status(), HandshakeStatus::Failed);
    EXPECT_EQ(initiator.handle_end(), HandshakeStatus::Failed);
  }
}

TEST(Handshake, MalformedPayloadsFail) {
  HandshakeInitiator initiator(topic_of(1));
  initiator.start();
  EXPECT_ERRC(initiator.handle(hex("0100")), PostcardTrailingBytes);
  HandshakeAcceptor acceptor(follows_only(topic_of(1)));
  EXPECT_ERRC(acceptor.handle(hex("0010")), PostcardTruncated);
  EXPECT_EQ(acceptor.status(), HandshakeStatus::Failed);
}

TEST(Handshake, RandomPayloadsNeverCrash) {
  std::mt19937 engine(3);
  for (int i = 0; i < 5000; ++i) {
    Bytes payload(engine() % 40);
    for (auto& byte : payload) byte = static_cast<std::uint8_t>(engine() % 4 == 0 ? 0 : engine());
    HandshakeAcceptor acceptor([](const Topic&) { return true; });
    auto first = acceptor.handle(payload);
    if (first) {
      EXPECT_EQ(first->status, HandshakeStatus::InProgress);
      EXPECT_FALSE(acceptor.handle(payload).has_value());  // a second Topic, or more garbage
    }
    HandshakeInitiator initiator(topic_of(1));
    initiator.start();
    auto reply = initiator.handle(payload);
    EXPECT_EQ(reply.has_value(), payload == hex("01"));
  }
}

}  // namespace
}  // namespace p2panda::sync
