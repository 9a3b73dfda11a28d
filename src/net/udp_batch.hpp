// Sans-IO helpers for batched UDP: SendBatch gathers consecutive QUIC packets for one peer into
// one buffer so that a single sendmsg with UDP_SEGMENT (GSO) can carry them; for_each_segment
// splits a coalesced receive (UDP_GRO) back into datagrams. No sockets here, so the rules about
// which packets may share a batch are unit-tested on their own. Not thread-safe; one owner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <p2panda/encoding.hpp>

namespace p2panda::net {

// Limits of one GSO send: at most 64 segments (the kernel's UDP_MAX_SEGMENTS in older kernels;
// newer ones accept more, this 6.18 kernel took 65), and the whole payload must fit one IPv4 UDP
// datagram (65,535 - 20 IP - 8 UDP header bytes).
inline constexpr std::size_t kMaxGsoSegments = 64;
inline constexpr std::size_t kMaxGsoBytes = 65507;

// GSO splits a buffer into segments of one size, only the last may be shorter. So a batch is a run
// of equal-sized packets, optionally ended by one shorter packet. Usage: write a packet into slot(),
// then commit(size) and do what it says; at the end send whatever pending() still holds.
class SendBatch {
 public:
  enum class Next {
    Write,       // keep writing packets into slot()
    Send,        // the batch is complete: send pending(), then clear()
    SendBefore,  // the packet just committed does not fit this batch: send pending() (which
                 // excludes it), then call carry() to make it the first of the next batch
  };

  // `storage` holds the batch plus one packet (at least kMaxGsoBytes + max_packet bytes is
  // enough); `max_segments` 1 disables batching (every packet is its own batch).
  // REQUIRES: 0 < max_packet <= kMaxGsoBytes, 1 <= max_segments <= kMaxGsoSegments,
  // storage.size() >= max_packet.
  SendBatch(std::span<std::uint8_t> storage, std::size_t max_packet, std::size_t max_segments);

  // Where to write the next packet: max_packet bytes.
  std::span<std::uint8_t> slot() { return storage_.subspan(used_, max_packet_); }
  // Records a packet of `size` bytes written into slot(). REQUIRES: 0 < size <= max_packet.
  Next commit(std::size_t size);
  // Moves the packet that SendBefore rejected to the front. REQUIRES: pending() was sent.
  Next carry();
  void clear();

  ByteSpan pending() const { return ByteSpan(storage_.data(), used_); }
  // The size of each segment of pending() (the last may be shorter); 0 when empty.
  std::size_t segment_size() const { return segment_; }
  std::size_t segments() const { return count_; }

 private:
  Next after_append();

  std::span<std::uint8_t> storage_;
  std::size_t max_packet_;
  std::size_t max_segments_;
  std::size_t used_ = 0;     // bytes of pending()
  std::size_t segment_ = 0;  // size of the first packet
  std::size_t count_ = 0;
  std::size_t rejected_ = 0;  // size of the packet SendBefore left behind pending()
};

// Calls on_segment for each datagram of a coalesced receive: consecutive `segment_size` pieces,
// the last possibly shorter. segment_size 0 (no GRO information) means the buffer is one datagram.
template <class F>
void for_each_segment(ByteSpan buffer, std::size_t segment_size, F&& on_segment) {
  if (segment_size == 0) segment_size = buffer.size();
  while (!buffer.empty()) {
    const std::size_t n = segment_size < buffer.size() ? segment_size : buffer.size();
    on_segment(buffer.first(n));
    buffer = buffer.subspan(n);
  }
}

}  // namespace p2panda::net
