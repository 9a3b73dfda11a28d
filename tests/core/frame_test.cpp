#include "core/frame.hpp"
#include "test_util.hpp"

namespace p2panda {
namespace {

TEST(Frame, ReassemblesFramesFromAnyChunking) {
  Bytes stream;
  std::vector<Bytes> payloads;
  for (std::size_t size : {0u, 1u, 5u, 300u, 70000u}) {
    Bytes payload(size);
    for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<std::uint8_t>(i * 7 + size);
    payloads.push_back(payload);
    auto frame = encode_frame(payload);
    ASSERT_OK(frame);
    stream.insert(stream.end(), frame->begin(), frame->end());
  }
  for (std::size_t chunk : {1u, 3u, 4u, 7u, 1000u, 100000u}) {
    SCOPED_TRACE(chunk);
    FrameDecoder decoder;
    std::vector<Bytes> received;
    for (std::size_t at = 0; at < stream.size(); at += chunk) {
      decoder.push(ByteSpan(stream).subspan(at, std::min(chunk, stream.size() - at)));
      while (true) {
        auto frame = decoder.next();
        ASSERT_OK(frame);
        if (!frame->has_value()) break;
        received.push_back(std::move(**frame));
      }
    }
    EXPECT_EQ(received, payloads);
    EXPECT_EQ(decoder.buffered(), 0u);
  }
}

TEST(Frame, RefusesOversizedFramesBeforeBufferingThem) {
  FrameDecoder decoder(16);
  decoder.push(Bytes{0, 0, 0, 17});
  auto frame = decoder.next();
  ASSERT_FALSE(frame.has_value());
  EXPECT_EQ(frame.error().code(), Errc::FrameTooLarge);
  EXPECT_NE(frame.error().message().find("17"), std::string::npos);
  // The stream is out of sync now: the decoder stays failed.
  decoder.push(Bytes{0, 0, 0, 0});
  EXPECT_ERRC(decoder.next(), FrameTooLarge);

  EXPECT_ERRC(encode_frame(Bytes(17), 16), FrameTooLarge);
  ASSERT_OK(encode_frame(Bytes(16), 16));
}

}  // namespace
}  // namespace p2panda
