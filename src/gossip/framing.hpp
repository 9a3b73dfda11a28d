// Putting gossip messages on QUIC streams, in the two layouts iroh-gossip has used
// (docs/gossip.md, "Framing"). Every frame is a u32 big-endian length, then a postcard body.
//
// - Mode::V101 (iroh-gossip 0.101, ALPN /iroh-gossip/1, the default): one unidirectional stream
//   per (direction, topic). Its first frame is StreamHeader{topic} (32 raw bytes), every later
//   frame one topic::Message.
// - Mode::V035 (iroh-gossip 0.35, ALPN /iroh-gossip/0): one bidirectional stream per connection
//   for all topics; every frame is ProtoMessage{topic, message} = topic(32) || topic::Message.
//
// Sizes follow iroh: a writer refuses a body whose size is >= max_message_size, a reader refuses
// an announced length > max_message_size (before buffering it). Plain values and per-stream
// readers: not thread-safe per instance.
#pragma once

#include <cstddef>
#include <optional>

#include <p2panda/ids.hpp>

#include "core/frame.hpp"
#include "gossip/messages.hpp"

namespace p2panda::gossip {

constexpr std::size_t kDefaultMaxMessageSize = 4096;
constexpr std::size_t kMinMaxMessageSize = 512;

enum class Mode { V101, V035 };

// ALPN of each mode.
constexpr std::string_view kAlpnV101 = "/iroh-gossip/1";
constexpr std::string_view kAlpnV035 = "/iroh-gossip/0";

// A received 0.35 frame: which topic the message is for.
struct ProtoMessage {
  Topic topic;
  Message message;
  friend bool operator==(const ProtoMessage&, const ProtoMessage&) = default;
};

// 0.101: the StreamHeader frame that opens a uni stream. Always 36 bytes.
Bytes encode_stream_header(const Topic& topic);
// 0.101: one message frame. Errors: FrameTooLarge when the body is >= max_message_size.
Result<Bytes> encode_frame_v101(const Message& message,
                                std::size_t max_message_size = kDefaultMaxMessageSize);
// 0.35: one ProtoMessage frame. Errors: FrameTooLarge as above (the topic counts).
Result<Bytes> encode_frame_v035(const Topic& topic, const Message& message,
                                std::size_t max_message_size = kDefaultMaxMessageSize);

// Bodies without the length prefix (what a frame carries). Errors: as decode_message, and
// PostcardTruncated/PostcardTrailingBytes for a header that is not exactly 32 bytes.
Result<Topic> decode_stream_header(ByteSpan body);
Result<ProtoMessage> decode_proto_message(ByteSpan body);

// Reads one 0.101 uni stream: the header first, then messages. Feed chunks of any size with
// push(); next() yields each complete message. Errors (the reader then stays failed: the stream is
// unusable and the caller drops it): FrameTooLarge, and the decode errors above.
class StreamReaderV101 {
 public:
  explicit StreamReaderV101(std::size_t max_message_size = kDefaultMaxMessageSize)
      : frames_(max_message_size) {}
  void push(ByteSpan chunk) { frames_.push(chunk); }
  // The next message, or nullopt when more bytes are needed.
  Result<std::optional<Message>> next();
  // Known once the header frame has arrived.
  const std::optional<Topic>& topic() const { return topic_; }

 private:
  FrameDecoder frames_;
  std::optional<Topic> topic_;
  std::optional<Error> failed_;
};

// Reads the 0.35 bi stream: every frame is a ProtoMessage. Same contract as StreamReaderV101.
class StreamReaderV035 {
 public:
  explicit StreamReaderV035(std::size_t max_message_size = kDefaultMaxMessageSize)
      : frames_(max_message_size) {}
  void push(ByteSpan chunk) { frames_.push(chunk); }
  Result<std::optional<ProtoMessage>> next();

 private:
  FrameDecoder frames_;
  std::optional<Error> failed_;
};

}  // namespace p2panda::gossip
