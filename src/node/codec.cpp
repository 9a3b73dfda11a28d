#include <p2panda/codec.hpp>

#include "core/cbor.hpp"

namespace p2panda::codec {
namespace {

// A decode error of the stream's message type, saying what the strict reader found.
Unexpected decode_error(const Error& error) {
  return fail(Errc::MessageDecodeFailed, error.to_string());
}

}  // namespace

Bytes encode_text(std::string_view text) {
  cbor::Writer writer;
  writer.text(text);
  return std::move(writer).take();
}

Result<std::string> decode_text(ByteSpan cbor) {
  cbor::Reader reader(cbor);
  auto text = reader.read_text();
  if (!text) return decode_error(text.error());
  if (auto end = reader.expect_end(); !end) return decode_error(end.error());
  return std::string(*text);
}

Bytes encode_bytes(ByteSpan bytes) {
  cbor::Writer writer;
  writer.bytes(bytes);
  return std::move(writer).take();
}

Result<Bytes> decode_bytes(ByteSpan cbor) {
  cbor::Reader reader(cbor);
  auto bytes = reader.read_bytes();
  if (!bytes) return decode_error(bytes.error());
  if (auto end = reader.expect_end(); !end) return decode_error(end.error());
  return Bytes(bytes->begin(), bytes->end());
}

}  // namespace p2panda::codec
