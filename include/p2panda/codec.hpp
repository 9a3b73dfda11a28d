// Codec<T>: how an application type becomes the CBOR body of an operation, and back.
//
// p2panda encodes stream messages with serde + ciborium; these codecs produce the same bytes for
// the same values: std::string as a CBOR text string, p2panda::Bytes as a CBOR byte string (what
// serde_bytes gives; plain serde would write an array of integers), and any type with nlohmann-json
// to_json/from_json through nlohmann's CBOR encoder (maps, arrays, integers in their shortest
// form, as ciborium writes them). Specialise Codec for other types:
//
//   template <> struct p2panda::Codec<Point> {
//     static Bytes encode(const Point& p);
//     static Result<Point> decode(ByteSpan cbor);  // MessageDecodeFailed on bad input
//   };
//
// Decoding never throws: a body that is not a valid T is a MessageDecodeFailed error, which a
// subscription reports as a DecodeFailed event (the operation stays unacked).
#pragma once

#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

#include <p2panda/encoding.hpp>
#include <p2panda/result.hpp>

namespace p2panda {

namespace codec {
Bytes encode_text(std::string_view text);
Result<std::string> decode_text(ByteSpan cbor);
Bytes encode_bytes(ByteSpan bytes);
Result<Bytes> decode_bytes(ByteSpan cbor);
}  // namespace codec

template <class T>
struct Codec {
  static_assert(std::is_default_constructible_v<T>,
                "no Codec<T>: give T nlohmann-json to_json/from_json or specialise p2panda::Codec");

  static Bytes encode(const T& value) {
    nlohmann::json json = value;
    return nlohmann::json::to_cbor(json);
  }

  static Result<T> decode(ByteSpan cbor) {
    // nlohmann reports bad input with exceptions; none may cross our API.
    try {
      auto json = nlohmann::json::from_cbor(cbor.begin(), cbor.end());
      return json.template get<T>();
    } catch (const nlohmann::json::exception& error) {
      return fail(Errc::MessageDecodeFailed, error.what());
    }
  }
};

template <>
struct Codec<std::string> {
  static Bytes encode(const std::string& value) { return codec::encode_text(value); }
  static Result<std::string> decode(ByteSpan cbor) { return codec::decode_text(cbor); }
};

template <>
struct Codec<Bytes> {
  static Bytes encode(const Bytes& value) { return codec::encode_bytes(value); }
  static Result<Bytes> decode(ByteSpan cbor) { return codec::decode_bytes(cbor); }
};

}  // namespace p2panda
