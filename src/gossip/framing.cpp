#include "gossip/framing.hpp"

#include <string>

#include "core/postcard.hpp"
#include "core/try.hpp"

namespace p2panda::gossip {
namespace {

Result<Bytes> frame_body(const Bytes& body, std::size_t max_message_size) {
  if (body.size() >= max_message_size) {
    return fail(Errc::FrameTooLarge, "gossip message of " + std::to_string(body.size()) +
                                         " bytes is not below the maximum of " +
                                         std::to_string(max_message_size));
  }
  return encode_frame(body);
}

Result<Topic> read_topic(postcard::Reader& reader) {
  P2PANDA_TRY(bytes, reader.raw(Topic::kSize));
  return Topic::from_bytes(bytes);
}

}  // namespace

Bytes encode_stream_header(const Topic& topic) { return *encode_frame(topic.bytes()); }

Result<Bytes> encode_frame_v101(const Message& message, std::size_t max_message_size) {
  return frame_body(encode_message(message), max_message_size);
}

Result<Bytes> encode_frame_v035(const Topic& topic, const Message& message,
                                std::size_t max_message_size) {
  Bytes body(topic.bytes().begin(), topic.bytes().end());
  encode_message(message, body);
  return frame_body(body, max_message_size);
}

Result<Topic> decode_stream_header(ByteSpan body) {
  postcard::Reader reader(body);
  P2PANDA_TRY(topic, read_topic(reader));
  P2PANDA_CHECK(reader.expect_end());
  return topic;
}

Result<ProtoMessage> decode_proto_message(ByteSpan body) {
  postcard::Reader reader(body);
  P2PANDA_TRY(topic, read_topic(reader));
  auto message = decode_message(body.subspan(Topic::kSize));
  if (!message) {
    // Offsets in the inner error count from the message; say where it started.
    const Error& error = message.error();
    return fail(error.code(), error.message() + " (message starts at offset 32)");
  }
  return ProtoMessage{topic, std::move(*message)};
}

Result<std::optional<Message>> StreamReaderV101::next() {
  if (failed_) return Unexpected{*failed_};
  while (true) {
    auto frame = frames_.next();
    if (!frame) {
      failed_ = frame.error();
      return Unexpected{*failed_};
    }
    if (!*frame) return std::optional<Message>();
    if (!topic_) {
      auto topic = decode_stream_header(**frame);
      if (!topic) {
        failed_ = topic.error();
        return Unexpected{*failed_};
      }
      topic_ = *topic;
      continue;
    }
    auto message = decode_message(**frame);
    if (!message) {
      failed_ = message.error();
      return Unexpected{*failed_};
    }
    return std::optional<Message>(std::move(*message));
  }
}

Result<std::optional<ProtoMessage>> StreamReaderV035::next() {
  if (failed_) return Unexpected{*failed_};
  auto frame = frames_.next();
  if (!frame) {
    failed_ = frame.error();
    return Unexpected{*failed_};
  }
  if (!*frame) return std::optional<ProtoMessage>();
  auto message = decode_proto_message(**frame);
  if (!message) {
    failed_ = message.error();
    return Unexpected{*failed_};
  }
  return std::optional<ProtoMessage>(std::move(*message));
}

}  // namespace p2panda::gossip
