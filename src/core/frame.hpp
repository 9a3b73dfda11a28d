// Length-prefixed frames: a 4-byte big-endian length, then that many payload bytes, as
// p2panda-net's codec writes them around postcard messages. FrameDecoder reassembles frames from
// stream chunks of any size and refuses a frame as soon as its announced length exceeds the
// maximum, before buffering it. Not thread-safe per instance.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include <p2panda/encoding.hpp>
#include <p2panda/result.hpp>

namespace p2panda {

// p2panda-net's default maximum frame length (128 MiB).
constexpr std::size_t kDefaultMaxFrameLength = 128 * 1024 * 1024;

// Errors: FrameTooLarge when payload.size() > max_length.
Result<Bytes> encode_frame(ByteSpan payload, std::size_t max_length = kDefaultMaxFrameLength);

class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t max_length = kDefaultMaxFrameLength)
      : max_length_(max_length) {}

  // Appends received bytes. Cheap; parsing happens in next().
  void push(ByteSpan chunk);

  // The next complete frame's payload, or nullopt when more bytes are needed.
  // Errors: FrameTooLarge (the decoder then stays failed: the stream is out of sync).
  Result<std::optional<Bytes>> next();

  // Bytes received but not yet returned as frames.
  std::size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  std::size_t max_length_;
  Bytes buffer_;
  std::size_t consumed_ = 0;
  std::optional<Error> failed_;
};

}  // namespace p2panda
