// Stream framing of both iroh-gossip layouts, checked against bytes from docs/gossip.md and the
// interop capture in gossip-wire.md §2.3.
#include <gtest/gtest.h>

#include "gossip/framing.hpp"
#include "message_samples.hpp"

namespace p2panda::gossip {
namespace {

using testing::filled;
using testing::repeat;

const Topic kTopic = filled<Topic>(0x5a);
const std::string kTopicHex = repeat("5a", 32);

TEST(GossipFraming, StreamHeaderIsLengthThenTopic) {
  EXPECT_EQ(to_hex(encode_stream_header(kTopic)), "00000020" + kTopicHex);
}

TEST(GossipFraming, V101FrameIsLengthThenMessage) {
  EXPECT_EQ(to_hex(*encode_frame_v101(Prune{})), "000000020101");
}

// The 0.35 node's broadcast frames: 00000058 || topic || 01 00 || id || 13 "msg-N from 8525cf45"
// || 00 00 (Gossip, Swarm(Round(0))).
TEST(GossipFraming, V035FrameMatchesCapture) {
  const std::string text = "msg-0 from 8525cf45";
  const Bytes content(text.begin(), text.end());
  const MessageId id = MessageId::from_content(content);
  auto frame = encode_frame_v035(kTopic, Gossip{id, content, DeliveryScope::swarm(0)});
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(to_hex(*frame),
            "00000058" + kTopicHex + "0100" + id.to_hex() + "13" + to_hex(content) + "0000");
  auto decoded = decode_proto_message(ByteSpan(*frame).subspan(4));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->topic, kTopic);
  EXPECT_EQ(message_name(decoded->message), "Gossip");
}

TEST(GossipFraming, WriterRefusesBodiesAtTheLimit) {
  // Join(Some(n bytes)) has a body of 4 + n bytes for n < 128.
  EXPECT_TRUE(encode_frame_v101(Join{Bytes(95, 0)}, 100).has_value());
  auto at_limit = encode_frame_v101(Join{Bytes(96, 0)}, 100);
  ASSERT_FALSE(at_limit.has_value());
  EXPECT_EQ(at_limit.error().code(), Errc::FrameTooLarge);
  // In 0.35 the topic counts against the limit too.
  EXPECT_FALSE(encode_frame_v035(kTopic, Join{Bytes(64, 0)}, 100).has_value());
}

TEST(GossipFraming, V101ReaderYieldsMessagesFromAnyChunking) {
  Bytes stream = encode_stream_header(kTopic);
  const std::vector<Message> sent = {Join{Bytes{1}}, Prune{}, IHave{{{filled<MessageId>(3), 4}}}};
  for (const auto& message : sent) {
    auto frame = *encode_frame_v101(message);
    stream.insert(stream.end(), frame.begin(), frame.end());
  }
  StreamReaderV101 reader;
  std::vector<Message> received;
  for (std::uint8_t byte : stream) {
    reader.push(ByteSpan(&byte, 1));
    while (true) {
      auto next = reader.next();
      ASSERT_TRUE(next.has_value()) << next.error().to_string();
      if (!*next) break;
      received.push_back(std::move(**next));
    }
  }
  EXPECT_EQ(reader.topic(), kTopic);
  EXPECT_TRUE(received == sent);
}

TEST(GossipFraming, V101ReaderFailsOnBadHeaderAndStaysFailed) {
  StreamReaderV101 reader;
  const Bytes header = *from_hex("00000021" + kTopicHex + "00");
  reader.push(header);
  auto first = reader.next();
  ASSERT_FALSE(first.has_value());
  EXPECT_EQ(first.error().code(), Errc::PostcardTrailingBytes);
  reader.push(*encode_frame_v101(Prune{}));
  EXPECT_FALSE(reader.next().has_value());
}

TEST(GossipFraming, ReadersRefuseOversizedFramesBeforeBuffering) {
  StreamReaderV101 reader(512);
  reader.push(encode_stream_header(kTopic));
  reader.push(*from_hex("00000201"));  // announces 513 bytes
  auto next = reader.next();
  ASSERT_FALSE(next.has_value());
  EXPECT_EQ(next.error().code(), Errc::FrameTooLarge);

  StreamReaderV035 legacy(512);
  legacy.push(*from_hex("00000200"));  // exactly 512: allowed by the reader, then truncated
  auto pending = legacy.next();
  ASSERT_TRUE(pending.has_value());
  EXPECT_FALSE(pending->has_value());
}

TEST(GossipFraming, V035ReaderYieldsProtoMessages) {
  Bytes stream = *encode_frame_v035(kTopic, Neighbor{Priority::Low, std::nullopt});
  auto second = *encode_frame_v035(filled<Topic>(1), Disconnect{true, true});
  stream.insert(stream.end(), second.begin(), second.end());
  StreamReaderV035 reader;
  reader.push(stream);
  auto a = reader.next();
  auto b = reader.next();
  auto c = reader.next();
  ASSERT_TRUE(a && *a && b && *b && c);
  EXPECT_EQ((*a)->topic, kTopic);
  EXPECT_TRUE((*b)->message == Message(Disconnect{true, true}));
  EXPECT_FALSE(c->has_value());
}

TEST(GossipFraming, ProtoMessageErrorsSayWhereTheMessageStarts) {
  auto decoded = decode_proto_message(*from_hex(kTopicHex + "0107"));
  ASSERT_FALSE(decoded.has_value());
  EXPECT_NE(decoded.error().message().find("offset 32"), std::string::npos);
  EXPECT_FALSE(decode_proto_message(*from_hex("5a5a")).has_value());
}

}  // namespace
}  // namespace p2panda::gossip
