// Fuzzes the strict CBOR reader. Beyond "never crash": whatever it accepts as one whole item must
// be byte for byte what cbor::Writer writes for the same values. Ids are hashed over received
// bytes, and only a reader that accepts nothing but canonical forms keeps them equal to ours.
#include <cstddef>
#include <cstdint>

#include "core/cbor.hpp"
#include "fuzz_support.hpp"

namespace {

using namespace p2panda;
using fuzz::check;

// Re-encodes the item at the reader's position with cbor::Writer. Items without a typed reader
// (negative integers, floats, null) are copied as read_item returns them.
// REQUIRES: the item is valid (validate_item succeeded), which also bounds the recursion depth.
bool reencode(cbor::Reader& reader, cbor::Writer& writer) {
  auto major = reader.peek();
  if (!major) return false;
  switch (*major) {
    case cbor::Major::Unsigned: {
      auto value = reader.read_uint();
      if (value) writer.uint(*value);
      return value.has_value();
    }
    case cbor::Major::Bytes: {
      auto value = reader.read_bytes();
      if (value) writer.bytes(*value);
      return value.has_value();
    }
    case cbor::Major::Text: {
      auto value = reader.read_text();
      if (value) writer.text(*value);
      return value.has_value();
    }
    case cbor::Major::Array:
    case cbor::Major::Map: {
      const bool map = *major == cbor::Major::Map;
      auto count = map ? reader.read_map() : reader.read_array();
      if (!count) return false;
      map ? writer.map(*count) : writer.array(*count);
      for (std::uint64_t i = 0; i < *count * (map ? 2 : 1); ++i) {
        if (!reencode(reader, writer)) return false;
      }
      return true;
    }
    case cbor::Major::Simple: {
      auto value = reader.read_bool();
      if (value) {
        writer.boolean(*value);
        return true;
      }
      break;
    }
    default:
      break;
  }
  auto item = reader.read_item();
  if (item) writer.raw(*item);
  return item.has_value();
}

// Calls the typed readers in an order picked by `seed` until one fails: whatever they are fed, they
// must fail cleanly and never move past the input or hand out spans outside it.
void drive_typed_readers(ByteSpan input, std::uint8_t seed) {
  cbor::Reader reader(input);
  fuzz::Choices choices(seed);
  const auto inside = [&](const void* data, std::size_t size) {
    const auto* begin = static_cast<const std::uint8_t*>(data);
    return size == 0 || (begin >= input.data() && begin + size <= input.data() + input.size());
  };
  for (std::size_t step = 0; step <= input.size(); ++step) {
    const std::size_t before = reader.offset();
    bool ok = true;
    switch (choices.next(8)) {
      case 0:
        ok = reader.read_uint().has_value();
        break;
      case 1: {
        auto value = reader.read_bytes();
        ok = value.has_value();
        if (ok) check(inside(value->data(), value->size()));
        break;
      }
      case 2: {
        auto value = reader.read_text();
        ok = value.has_value();
        if (ok) check(inside(value->data(), value->size()));
        break;
      }
      case 3:
        ok = reader.read_array().has_value();
        break;
      case 4:
        ok = reader.read_map().has_value();
        break;
      case 5:
        ok = reader.read_bool().has_value();
        break;
      case 6: {
        auto item = reader.read_item();
        ok = item.has_value();
        if (ok) check(item->data() == input.data() + before && !item->empty());
        break;
      }
      default:
        ok = reader.peek().has_value();
        break;
    }
    check(reader.offset() <= input.size());
    if (!ok || reader.at_end()) return;
    check(reader.offset() >= before);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteSpan input(data, size);

  cbor::Reader reader(input);
  auto item = reader.read_item();
  if (item) {
    check(item->data() == data && reader.offset() == item->size() && !item->empty());
  } else {
    check(reader.offset() == 0);  // a failed read_item leaves the reader where it was
  }

  auto valid = cbor::validate_item(input);
  check(valid.has_value() == (item.has_value() && reader.at_end()));
  if (valid) {
    cbor::Reader again(input);
    cbor::Writer writer;
    check(reencode(again, writer) && again.at_end());
    check(fuzz::same_bytes(writer.data(), input));
  }

  if (size > 0) drive_typed_readers(input.subspan(1), data[0]);
  return 0;
}
