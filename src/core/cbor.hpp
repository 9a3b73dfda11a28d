// Strict canonical CBOR (RFC 8949 §4.2.1 core deterministic encoding, minus map key sorting).
//
// CborWriter always writes shortest-form heads and definite lengths. CborReader accepts only what
// the writer could have produced: shortest-form heads, definite lengths, no tags, no reserved
// simple values, valid UTF-8 in text strings, nesting at most kMaxDepth. Because of that,
// decode-then-encode reproduces the input byte for byte, and ids computed over received bytes equal
// ids over our own re-encoding. Every error names the offset and the rule broken. Floats are
// accepted when they are in their shortest exact form, so application messages can carry them.
// Not thread-safe per instance; instances are cheap.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <p2panda/encoding.hpp>
#include <p2panda/result.hpp>

namespace p2panda::cbor {

enum class Major : std::uint8_t {
  Unsigned = 0,
  Negative = 1,
  Bytes = 2,
  Text = 3,
  Array = 4,
  Map = 5,
  Tag = 6,
  Simple = 7,
};

constexpr std::size_t kMaxDepth = 64;

class Writer {
 public:
  Writer() = default;
  explicit Writer(Bytes initial) : out_(std::move(initial)) {}

  Writer& uint(std::uint64_t value);
  Writer& negative(std::uint64_t minus_one);  // encodes -1 - minus_one
  Writer& bytes(ByteSpan value);
  Writer& text(std::string_view value);
  Writer& array(std::uint64_t length);
  Writer& map(std::uint64_t length);
  Writer& boolean(bool value);
  Writer& null();
  // Appends an already-encoded item. REQUIRES: `item` is one canonical CBOR item.
  Writer& raw(ByteSpan item);

  const Bytes& data() const& { return out_; }
  Bytes take() && { return std::move(out_); }

 private:
  void head(Major major, std::uint64_t argument);
  Bytes out_;
};

class Reader {
 public:
  explicit Reader(ByteSpan input) : input_(input) {}

  std::size_t offset() const { return pos_; }
  bool at_end() const { return pos_ == input_.size(); }
  std::size_t remaining() const { return input_.size() - pos_; }

  // The major type of the next item without consuming it. Errors: CborTruncated.
  Result<Major> peek() const;

  // Each read consumes one item of the named type. Errors: CborTruncated, CborNonCanonical,
  // CborIndefiniteLength, CborTagNotAllowed, CborTypeMismatch (with what was found instead).
  Result<std::uint64_t> read_uint();
  Result<ByteSpan> read_bytes();
  Result<std::string_view> read_text();  // also CborInvalidUtf8
  Result<std::uint64_t> read_array();    // returns the element count
  Result<std::uint64_t> read_map();      // returns the pair count
  Result<bool> read_bool();

  // Validates and consumes one whole item of any type, returning its raw bytes.
  // Errors: every rule above, and CborTooDeep past kMaxDepth levels of nesting.
  Result<ByteSpan> read_item();

  // Errors: CborTrailingBytes when input remains.
  Result<void> expect_end() const;

 private:
  struct Head {
    Major major;
    std::uint8_t info;
    std::uint64_t argument;
    std::size_t start;
  };
  Result<Head> read_head();
  Result<std::uint64_t> read_typed(Major expected);
  Result<void> skip(std::size_t depth);
  Unexpected error(Errc code, std::size_t at, const std::string& what) const;

  ByteSpan input_;
  std::size_t pos_ = 0;
};

// Validates that `input` is exactly one canonical item. Errors: as Reader::read_item, plus
// CborTrailingBytes.
Result<void> validate_item(ByteSpan input);

std::string_view major_name(Major major);

}  // namespace p2panda::cbor
