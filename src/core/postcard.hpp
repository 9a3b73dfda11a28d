// Postcard (the serde format p2panda's wire protocols use): unsigned integers as LEB128 varints,
// byte strings and sequences as a varint length then the items, bool as 0x00/0x01, enum variants as
// a varint index, Option as 0x00 or 0x01 + value. Fixed-width integers of one byte are raw.
//
// The reader is strict like our CBOR reader: a varint must be in its shortest form and fit the
// requested width, so every value has exactly one encoding. Errors name the offset.
// Not thread-safe per instance.
#pragma once

#include <cstdint>
#include <string_view>

#include <p2panda/encoding.hpp>
#include <p2panda/result.hpp>

namespace p2panda::postcard {

class Writer {
 public:
  Writer& varint(std::uint64_t value);
  Writer& u8(std::uint8_t value);
  Writer& boolean(bool value);
  Writer& bytes(ByteSpan value);  // varint length + bytes
  Writer& text(std::string_view value);
  Writer& raw(ByteSpan value);    // no length prefix

  const Bytes& data() const& { return out_; }
  Bytes take() && { return std::move(out_); }

 private:
  Bytes out_;
};

class Reader {
 public:
  explicit Reader(ByteSpan input) : input_(input) {}

  std::size_t offset() const { return pos_; }
  bool at_end() const { return pos_ == input_.size(); }

  // A varint no larger than `max`. Errors: PostcardTruncated, PostcardNonCanonical (a redundant
  // trailing zero group), PostcardOverflow (larger than `max` or than 64 bits).
  Result<std::uint64_t> varint(std::uint64_t max = UINT64_MAX);
  Result<std::uint8_t> u8();
  Result<bool> boolean();  // also PostcardInvalidValue for anything but 0 or 1
  Result<ByteSpan> bytes();
  Result<ByteSpan> raw(std::size_t length);

  // Errors: PostcardTrailingBytes.
  Result<void> expect_end() const;

 private:
  Unexpected error(Errc code, std::size_t at, const std::string& what) const;

  ByteSpan input_;
  std::size_t pos_ = 0;
};

}  // namespace p2panda::postcard
