#include "net/udp_batch.hpp"

#include <cstring>

namespace p2panda::net {

SendBatch::SendBatch(std::span<std::uint8_t> storage, std::size_t max_packet,
                     std::size_t max_segments)
    : storage_(storage), max_packet_(max_packet), max_segments_(max_segments) {}

SendBatch::Next SendBatch::commit(std::size_t size) {
  if (count_ == 0) {
    segment_ = size;
    used_ = size;
    count_ = 1;
    return after_append();
  }
  // A packet longer than the segment size cannot join: GSO would cut it in two.
  if (size > segment_) {
    rejected_ = size;
    return Next::SendBefore;
  }
  used_ += size;
  ++count_;
  // A shorter packet can only be the last segment.
  if (size < segment_) return Next::Send;
  return after_append();
}

SendBatch::Next SendBatch::carry() {
  std::memmove(storage_.data(), storage_.data() + used_, rejected_);
  const std::size_t size = rejected_;
  clear();
  return commit(size);
}

void SendBatch::clear() {
  used_ = 0;
  segment_ = 0;
  count_ = 0;
  rejected_ = 0;
}

// Complete when no further full-sized packet could join: segment count, total size, or room in
// the storage for the next slot.
SendBatch::Next SendBatch::after_append() {
  if (count_ >= max_segments_ || used_ + segment_ > kMaxGsoBytes ||
      used_ + max_packet_ > storage_.size()) {
    return Next::Send;
  }
  return Next::Write;
}

}  // namespace p2panda::net
