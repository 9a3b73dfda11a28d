#include "core/postcard.hpp"

namespace p2panda::postcard {

Writer& Writer::varint(std::uint64_t value) {
  while (value >= 0x80) {
    out_.push_back(static_cast<std::uint8_t>(value | 0x80));
    value >>= 7;
  }
  out_.push_back(static_cast<std::uint8_t>(value));
  return *this;
}

Writer& Writer::u8(std::uint8_t value) {
  out_.push_back(value);
  return *this;
}

Writer& Writer::boolean(bool value) { return u8(value ? 1 : 0); }

Writer& Writer::bytes(ByteSpan value) {
  varint(value.size());
  return raw(value);
}

Writer& Writer::text(std::string_view value) { return bytes(as_bytes(value)); }

Writer& Writer::raw(ByteSpan value) {
  out_.insert(out_.end(), value.begin(), value.end());
  return *this;
}

Unexpected Reader::error(Errc code, std::size_t at, const std::string& what) const {
  return fail(code, "postcard: " + what + " at offset " + std::to_string(at));
}

Result<std::uint64_t> Reader::varint(std::uint64_t max) {
  const std::size_t start = pos_;
  std::uint64_t value = 0;
  for (unsigned shift = 0;; shift += 7) {
    if (pos_ == input_.size()) {
      pos_ = start;
      return error(Errc::PostcardTruncated, start, "varint runs past the end of input");
    }
    const std::uint8_t byte = input_[pos_++];
    const std::uint64_t group = byte & 0x7f;
    if (shift == 63 && group > 1) {
      pos_ = start;
      return error(Errc::PostcardOverflow, start, "varint exceeds 64 bits");
    }
    value |= group << shift;
    if ((byte & 0x80) == 0) {
      if (byte == 0 && shift > 0) {
        pos_ = start;
        return error(Errc::PostcardNonCanonical, start, "varint has a redundant zero group");
      }
      break;
    }
    if (shift == 63) {
      pos_ = start;
      return error(Errc::PostcardOverflow, start, "varint longer than 10 bytes");
    }
  }
  if (value > max) {
    pos_ = start;
    return error(Errc::PostcardOverflow, start,
                 "value " + std::to_string(value) + " exceeds " + std::to_string(max));
  }
  return value;
}

Result<std::uint8_t> Reader::u8() {
  if (pos_ == input_.size()) return error(Errc::PostcardTruncated, pos_, "unexpected end of input");
  return input_[pos_++];
}

Result<bool> Reader::boolean() {
  const std::size_t start = pos_;
  auto byte = u8();
  if (!byte) return Unexpected{std::move(byte).error()};
  if (*byte > 1) {
    pos_ = start;
    return error(Errc::PostcardInvalidValue, start, "bool must be 0 or 1");
  }
  return *byte == 1;
}

Result<ByteSpan> Reader::bytes() {
  const std::size_t start = pos_;
  auto length = varint();
  if (!length) return Unexpected{std::move(length).error()};
  auto value = raw(*length);
  if (!value) pos_ = start;
  return value;
}

Result<ByteSpan> Reader::raw(std::size_t length) {
  if (length > input_.size() - pos_) {
    return error(Errc::PostcardTruncated, pos_,
                 std::to_string(length) + " bytes requested, " +
                     std::to_string(input_.size() - pos_) + " left");
  }
  ByteSpan value = input_.subspan(pos_, length);
  pos_ += length;
  return value;
}

Result<void> Reader::expect_end() const {
  if (!at_end()) {
    return error(Errc::PostcardTrailingBytes, pos_,
                 std::to_string(input_.size() - pos_) + " trailing bytes");
  }
  return {};
}

}  // namespace p2panda::postcard
