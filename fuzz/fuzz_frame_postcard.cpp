// Fuzzes the framing and postcard layers of the sync protocol. Input: one control byte, then a byte
// stream. The stream goes into a FrameDecoder in chunks whose sizes come from the stream's bytes;
// the frames it yields must be exactly those of a one-shot split of the stream, however it was
// chunked. Each payload is then read as postcard, generically and as a Live-mode header, and any
// header read must write back to the very bytes it was read from (postcard has one encoding per
// value, and a header that re-encodes differently would no longer match its signature).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <p2panda/header.hpp>

#include "core/frame.hpp"
#include "core/header_postcard.hpp"
#include "core/postcard.hpp"
#include "fuzz_support.hpp"

namespace {

using namespace p2panda;
using fuzz::check;
using fuzz::same_bytes;

constexpr std::size_t kMaxFrame = 4096;

// Strict CBOR headers travel inside postcard byte strings (Sync Operation messages).
void check_cbor_header(ByteSpan bytes) {
  auto header = Header::decode(bytes);
  if (header) check(same_bytes(header->encode(), bytes));
}

// Generic postcard reading in an order picked by `choices`, until a read fails or input ends.
void read_postcard_values(ByteSpan payload, fuzz::Choices& choices) {
  postcard::Reader reader(payload);
  for (std::size_t step = 0; step <= payload.size() && !reader.at_end(); ++step) {
    bool ok = true;
    switch (choices.next(8)) {
      case 0:
        ok = reader.varint().has_value();
        break;
      case 1:
        ok = reader.varint(UINT16_MAX).has_value();
        break;
      case 2:
        ok = reader.varint(UINT32_MAX).has_value();
        break;
      case 3:
        ok = reader.u8().has_value();
        break;
      case 4:
        ok = reader.boolean().has_value();
        break;
      case 5: {
        auto bytes = reader.bytes();
        ok = bytes.has_value();
        if (ok) check_cbor_header(*bytes);
        break;
      }
      case 6:
        ok = reader.raw(choices.next(40)).has_value();
        break;
      default:
        ok = reader.expect_end().has_value();
        break;
    }
    check(reader.offset() <= payload.size());
    if (!ok) return;
  }
}

// A Live-mode header at the start of the payload, or after up to two message tags (varints).
void read_live_headers(ByteSpan payload) {
  for (int tags = 0; tags <= 2; ++tags) {
    postcard::Reader reader(payload);
    bool skipped = true;
    for (int i = 0; i < tags && skipped; ++i) skipped = reader.varint().has_value();
    if (!skipped) return;
    const std::size_t start = reader.offset();
    auto header = read_header_postcard(reader);
    if (!header) continue;
    postcard::Writer writer;
    check(header->extensions.has_value());
    check(write_header_postcard(writer, *header).has_value());
    check(same_bytes(writer.data(), payload.subspan(start, reader.offset() - start)));
  }
}

// The frames of `stream` split in one go, and whether the split ends in FrameTooLarge.
std::vector<ByteSpan> reference_frames(ByteSpan stream, bool& too_large) {
  std::vector<ByteSpan> frames;
  too_large = false;
  std::size_t at = 0;
  while (stream.size() - at >= 4) {
    const std::size_t length = (std::size_t{stream[at]} << 24) |
                               (std::size_t{stream[at + 1]} << 16) |
                               (std::size_t{stream[at + 2]} << 8) | std::size_t{stream[at + 3]};
    if (length > kMaxFrame) {
      too_large = true;
      break;
    }
    if (stream.size() - at - 4 < length) break;
    frames.push_back(stream.subspan(at + 4, length));
    at += 4 + length;
  }
  return frames;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t control = data[0];
  const ByteSpan stream(data + 1, size - 1);

  FrameDecoder decoder(kMaxFrame);
  std::vector<Bytes> frames;
  bool failed = false;
  // Bit 7 pushes everything at once; otherwise chunks of 1 to (control & 0x3f) + 1 bytes.
  const std::size_t max_chunk = (control & 0x80) ? stream.size() : (control & 0x3f) + 1u;
  for (std::size_t at = 0; at < stream.size() && !failed;) {
    const std::size_t chunk = std::min(stream.size() - at, 1 + stream[at] % max_chunk);
    decoder.push(stream.subspan(at, chunk));
    at += chunk;
    for (;;) {
      auto frame = decoder.next();
      if (!frame) {
        failed = true;
        check(!decoder.next().has_value());  // a failed decoder stays failed
        break;
      }
      if (!*frame) break;
      check((*frame)->size() <= kMaxFrame);
      frames.push_back(std::move(**frame));
    }
  }

  bool too_large = false;
  const auto expected = reference_frames(stream, too_large);
  check(failed == too_large && frames.size() == expected.size());
  for (std::size_t i = 0; i < frames.size(); ++i) check(same_bytes(frames[i], expected[i]));

  fuzz::Choices choices(control);
  for (const auto& payload : frames) {
    read_postcard_values(payload, choices);
    read_live_headers(payload);
  }
  return 0;
}
