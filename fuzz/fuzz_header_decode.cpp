// Fuzzes every CBOR decoder of the data model on the same input. Headers, extensions, cursors and
// ephemeral messages are all decoded strictly, so whatever decodes must re-encode to exactly the
// input: an operation id is BLAKE3 of the received bytes and a signature covers a re-encoding, and
// both only agree with other peers when the two byte strings are the same.
#include <cstddef>
#include <cstdint>
#include <optional>

#include <p2panda/ephemeral.hpp>
#include <p2panda/extensions.hpp>
#include <p2panda/log_heights.hpp>
#include <p2panda/operation.hpp>

#include "fuzz_support.hpp"

namespace {

using namespace p2panda;
using fuzz::check;
using fuzz::same_bytes;

void fuzz_header(ByteSpan input) {
  auto header = Header::decode(input);
  auto operation = Operation::decode(input, std::nullopt);
  check(header.has_value() == operation.has_value());
  if (!header) return;
  check(same_bytes(header->encode(), input));
  check(operation->header() == *header && same_bytes(operation->header_bytes(), input));
  check(operation->id() == header->id());
  // Results do not matter here, only that arbitrary decoded headers are handled cleanly.
  (void)validate_header(*header);
  (void)validate_operation(*operation);
  auto extensions = node_extensions(*header);
  if (extensions) check(same_bytes(extensions->encode(), *header->extensions));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteSpan input(data, size);
  fuzz_header(input);

  auto extensions = NodeExtensions::decode(input);
  if (extensions) check(same_bytes(extensions->encode(), input));

  auto cursor = Cursor::decode(input);
  if (cursor) check(same_bytes(cursor->encode(), input));

  auto message = EphemeralMessage::decode(input);
  if (message) {
    check(same_bytes(message->encode(), input));
    (void)message->verify();
  }
  return 0;
}
