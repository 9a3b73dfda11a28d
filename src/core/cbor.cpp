#include "core/cbor.hpp"

#include <cfloat>
#include <cmath>
#include <cstring>

namespace p2panda::cbor {
namespace {

constexpr std::uint8_t kFalse = 0xf4;
constexpr std::uint8_t kTrue = 0xf5;
constexpr std::uint8_t kNull = 0xf6;

// Length of a well-formed UTF-8 sequence starting at `text[i]`, or 0 when it is malformed
// (overlong forms, surrogates and code points above U+10FFFF included).
std::size_t utf8_sequence(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(text[k]); };
  const std::uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  std::size_t length;
  std::uint32_t code;
  if ((b0 & 0xe0) == 0xc0) {
    length = 2, code = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    length = 3, code = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    length = 4, code = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3f);
  }
  static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kMin[length] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
  return length;
}

// Half-precision to double (RFC 8949 Appendix D).
double half_to_double(std::uint16_t half) {
  const int exponent = (half >> 10) & 0x1f;
  const int mantissa = half & 0x3ff;
  double value;
  if (exponent == 0) {
    value = std::ldexp(mantissa, -24);
  } else if (exponent != 31) {
    value = std::ldexp(mantissa + 1024, exponent - 25);
  } else {
    value = mantissa == 0 ? INFINITY : NAN;
  }
  return (half & 0x8000) ? -value : value;
}

// True when a finite `value` is exactly representable as an IEEE half: |value| <= 65504 and
// |value| * 2^24 is an integer whose significant bits fit in 11.
bool fits_half(double value) {
  double scaled = std::ldexp(std::fabs(value), 24);
  if (std::fabs(value) > 65504.0 || scaled != std::floor(scaled)) return false;
  while (scaled >= 2048.0 && std::fmod(scaled, 2.0) == 0.0) scaled /= 2.0;
  return scaled < 2048.0;
}

// True when a float of `width` bytes (4 or 8) could have been written in a narrower width without
// losing information; canonical encoders pick the narrowest exact width.
bool float_is_overlong(double value, std::size_t width) {
  if (std::isnan(value) || std::isinf(value)) return true;  // both have half forms
  if (fits_half(value)) return true;
  if (width == 8 && std::fabs(value) <= FLT_MAX &&
      static_cast<double>(static_cast<float>(value)) == value) {
    return true;
  }
  return false;
}

}  // namespace

std::string_view major_name(Major major) {
  static constexpr std::string_view kNames[] = {"unsigned integer", "negative integer",
                                                "byte string",      "text string",
                                                "array",            "map",
                                                "tag",              "simple value or float"};
  return kNames[static_cast<std::uint8_t>(major)];
}

void Writer::head(Major major, std::uint64_t argument) {
  const auto m = static_cast<std::uint8_t>(static_cast<std::uint8_t>(major) << 5);
  if (argument < 24) {
    out_.push_back(m | static_cast<std::uint8_t>(argument));
    return;
  }
  int width;
  std::uint8_t info;
  if (argument <= 0xff) {
    width = 1, info = 24;
  } else if (argument <= 0xffff) {
    width = 2, info = 25;
  } else if (argument <= 0xffffffffULL) {
    width = 4, info = 26;
  } else {
    width = 8, info = 27;
  }
  out_.push_back(m | info);
  for (int shift = (width - 1) * 8; shift >= 0; shift -= 8) {
    out_.push_back(static_cast<std::uint8_t>(argument >> shift));
  }
}

Writer& Writer::uint(std::uint64_t value) {
  head(Major::Unsigned, value);
  return *this;
}
Writer& Writer::negative(std::uint64_t minus_one) {
  head(Major::Negative, minus_one);
  return *this;
}
Writer& Writer::bytes(ByteSpan value) {
  head(Major::Bytes, value.size());
  out_.insert(out_.end(), value.begin(), value.end());
  return *this;
}
Writer& Writer::text(std::string_view value) {
  head(Major::Text, value.size());
  out_.insert(out_.end(), value.begin(), value.end());
  return *this;
}
Writer& Writer::array(std::uint64_t length) {
  head(Major::Array, length);
  return *this;
}
Writer& Writer::map(std::uint64_t length) {
  head(Major::Map, length);
  return *this;
}
Writer& Writer::boolean(bool value) {
  out_.push_back(value ? kTrue : kFalse);
  return *this;
}
Writer& Writer::null() {
  out_.push_back(kNull);
  return *this;
}
Writer& Writer::raw(ByteSpan item) {
  out_.insert(out_.end(), item.begin(), item.end());
  return *this;
}

Unexpected Reader::error(Errc code, std::size_t at, const std::string& what) const {
  return fail(code, "cbor: " + what + " at offset " + std::to_string(at));
}

Result<Major> Reader::peek() const {
  if (at_end()) return error(Errc::CborTruncated, pos_, "unexpected end of input");
  return static_cast<Major>(input_[pos_] >> 5);
}

Result<Reader::Head> Reader::read_head() {
  const std::size_t start = pos_;
  if (at_end()) return error(Errc::CborTruncated, start, "unexpected end of input");
  const std::uint8_t initial = input_[pos_++];
  Head head{static_cast<Major>(initial >> 5), static_cast<std::uint8_t>(initial & 0x1f), 0, start};
  if (head.info < 24) {
    head.argument = head.info;
    return head;
  }
  if (head.info == 31) {
    if (head.major == Major::Simple) {
      return error(Errc::CborIndefiniteLength, start, "unexpected break code (0xff)");
    }
    return error(Errc::CborIndefiniteLength, start,
                 "indefinite-length " + std::string(major_name(head.major)) + " not allowed");
  }
  if (head.info > 27) {
    return error(Errc::CborReservedValue, start,
                 "reserved additional information " + std::to_string(head.info));
  }
  const std::size_t width = std::size_t{1} << (head.info - 24);
  if (remaining() < width) {
    return error(Errc::CborTruncated, start, "head needs " + std::to_string(width) + " more bytes");
  }
  for (std::size_t k = 0; k < width; ++k) head.argument = (head.argument << 8) | input_[pos_++];
  if (head.major == Major::Simple) return head;  // floats and simple values: checked by callers
  const std::uint64_t minimum = width == 1 ? 24 : (std::uint64_t{1} << (width * 4));
  if (head.argument < minimum) {
    return error(Errc::CborNonCanonical, start,
                 "non-minimal head: " + std::to_string(head.argument) + " encoded in " +
                     std::to_string(width) + " bytes");
  }
  return head;
}

Result<std::uint64_t> Reader::read_typed(Major expected) {
  const std::size_t start = pos_;
  auto head = read_head();
  if (!head) return Unexpected{std::move(head).error()};
  if (head->major == Major::Tag) {
    pos_ = start;
    return error(Errc::CborTagNotAllowed, start, "tags are not allowed");
  }
  if (head->major != expected) {
    pos_ = start;
    return error(Errc::CborTypeMismatch, start,
                 "expected " + std::string(major_name(expected)) + ", found " +
                     std::string(major_name(head->major)));
  }
  return head->argument;
}

Result<std::uint64_t> Reader::read_uint() { return read_typed(Major::Unsigned); }

Result<ByteSpan> Reader::read_bytes() {
  const std::size_t start = pos_;
  auto length = read_typed(Major::Bytes);
  if (!length) return Unexpected{std::move(length).error()};
  if (*length > remaining()) {
    pos_ = start;
    return error(Errc::CborTruncated, start,
                 "byte string of " + std::to_string(*length) + " bytes exceeds the input");
  }
  ByteSpan value = input_.subspan(pos_, *length);
  pos_ += *length;
  return value;
}

Result<std::string_view> Reader::read_text() {
  const std::size_t start = pos_;
  auto length = read_typed(Major::Text);
  if (!length) return Unexpected{std::move(length).error()};
  if (*length > remaining()) {
    pos_ = start;
    return error(Errc::CborTruncated, start,
                 "text string of " + std::to_string(*length) + " bytes exceeds the input");
  }
  std::string_view text(reinterpret_cast<const char*>(input_.data() + pos_), *length);
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t step = utf8_sequence(text, i);
    if (step == 0) {
      pos_ = start;
      return error(Errc::CborInvalidUtf8, start + 1 + i, "invalid UTF-8 in text string");
    }
    i += step;
  }
  pos_ += *length;
  return text;
}

Result<std::uint64_t> Reader::read_array() { return read_typed(Major::Array); }
Result<std::uint64_t> Reader::read_map() { return read_typed(Major::Map); }

Result<bool> Reader::read_bool() {
  if (at_end()) return error(Errc::CborTruncated, pos_, "unexpected end of input");
  const std::uint8_t byte = input_[pos_];
  if (byte == kFalse || byte == kTrue) {
    ++pos_;
    return byte == kTrue;
  }
  return error(Errc::CborTypeMismatch, pos_, "expected a boolean (0xf4 or 0xf5)");
}

Result<void> Reader::skip(std::size_t depth) {
  if (depth > kMaxDepth) {
    return error(Errc::CborTooDeep, pos_, "nesting deeper than " + std::to_string(kMaxDepth));
  }
  const std::size_t start = pos_;
  auto head = read_head();
  if (!head) return Unexpected{std::move(head).error()};
  switch (head->major) {
    case Major::Unsigned:
    case Major::Negative:
      return {};
    case Major::Bytes:
    case Major::Text: {
      pos_ = start;
      if (head->major == Major::Bytes) {
        auto value = read_bytes();
        if (!value) return Unexpected{std::move(value).error()};
      } else {
        auto value = read_text();
        if (!value) return Unexpected{std::move(value).error()};
      }
      return {};
    }
    case Major::Array:
    case Major::Map: {
      // Each element takes at least one byte: reject impossible counts before looping.
      const std::uint64_t items = head->argument * (head->major == Major::Map ? 2 : 1);
      if (head->argument > remaining() || items > remaining()) {
        return error(Errc::CborTruncated, start,
                     std::string(major_name(head->major)) + " of " +
                         std::to_string(head->argument) + " entries exceeds the input");
      }
      for (std::uint64_t i = 0; i < items; ++i) {
        auto inner = skip(depth + 1);
        if (!inner) return inner;
      }
      return {};
    }
    case Major::Tag:
      return error(Errc::CborTagNotAllowed, start, "tags are not allowed");
    case Major::Simple:
      break;
  }
  // Major type 7: false, true, null, and floats in their shortest exact width.
  if (head->info == 20 || head->info == 21 || head->info == 22) return {};
  if (head->info < 24 || head->info == 24) {
    return error(Errc::CborReservedValue, start,
                 "simple value " + std::to_string(head->argument) + " not allowed");
  }
  if (head->info == 25) {
    const auto half = static_cast<std::uint16_t>(head->argument);
    const double value = half_to_double(half);
    if (std::isnan(value) && half != 0x7e00) {
      return error(Errc::CborNonCanonical, start, "NaN must be encoded as 0xf97e00");
    }
    return {};
  }
  double value;
  std::size_t width;
  if (head->info == 26) {
    float f;
    const auto bits = static_cast<std::uint32_t>(head->argument);
    std::memcpy(&f, &bits, sizeof f);
    value = f, width = 4;
  } else {
    std::memcpy(&value, &head->argument, sizeof value);
    width = 8;
  }
  if (float_is_overlong(value, width)) {
    return error(Errc::CborNonCanonical, start,
                 "float in " + std::to_string(width) + " bytes has a shorter exact form");
  }
  return {};
}

Result<ByteSpan> Reader::read_item() {
  const std::size_t start = pos_;
  auto skipped = skip(0);
  if (!skipped) {
    pos_ = start;
    return Unexpected{std::move(skipped).error()};
  }
  return input_.subspan(start, pos_ - start);
}

Result<void> Reader::expect_end() const {
  if (!at_end()) {
    return error(Errc::CborTrailingBytes, pos_,
                 std::to_string(remaining()) + " trailing bytes after the item");
  }
  return {};
}

Result<void> validate_item(ByteSpan input) {
  Reader reader(input);
  auto item = reader.read_item();
  if (!item) return Unexpected{std::move(item).error()};
  return reader.expect_end();
}

}  // namespace p2panda::cbor
