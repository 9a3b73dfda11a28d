#include "core/frame.hpp"

namespace p2panda {
namespace {

Unexpected too_large(std::uint64_t length, std::size_t max_length) {
  return fail(Errc::FrameTooLarge, "frame of " + std::to_string(length) +
                                       " bytes exceeds the maximum of " +
                                       std::to_string(max_length));
}

}  // namespace

Result<Bytes> encode_frame(ByteSpan payload, std::size_t max_length) {
  if (payload.size() > max_length || payload.size() > UINT32_MAX) {
    return too_large(payload.size(), max_length);
  }
  const auto length = static_cast<std::uint32_t>(payload.size());
  Bytes frame{static_cast<std::uint8_t>(length >> 24), static_cast<std::uint8_t>(length >> 16),
              static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length)};
  frame.insert(frame.end(), payload.begin(), payload.end());
  return frame;
}

void FrameDecoder::push(ByteSpan chunk) {
  // Compact before growing, so a long-lived decoder does not keep every byte it ever saw.
  if (consumed_ > 0 && consumed_ * 2 >= buffer_.size()) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_));
    consumed_ = 0;
  }
  buffer_.insert(buffer_.end(), chunk.begin(), chunk.end());
}

Result<std::optional<Bytes>> FrameDecoder::next() {
  if (failed_) return Unexpected{*failed_};
  if (buffered() < 4) return std::optional<Bytes>{};
  const std::uint8_t* head = buffer_.data() + consumed_;
  const std::uint32_t length = (std::uint32_t{head[0]} << 24) | (std::uint32_t{head[1]} << 16) |
                               (std::uint32_t{head[2]} << 8) | std::uint32_t{head[3]};
  if (length > max_length_) {
    auto error = too_large(length, max_length_);
    failed_ = error.error;
    return error;
  }
  if (buffered() - 4 < length) return std::optional<Bytes>{};
  Bytes payload(head + 4, head + 4 + length);
  consumed_ += 4 + length;
  return std::optional<Bytes>{std::move(payload)};
}

}  // namespace p2panda
