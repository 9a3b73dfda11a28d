// The postcard (serde) form of a Node API header, used by live-mode sync messages
// (`Live(header, body)`): a varint field count, then the header fields in CBOR order with varint
// integers and length-prefixed byte strings, and the extensions as a postcard sequence
// `[5, version, variant, log_id, timestamp, prune]`. Postcard is not self-describing, so unknown
// trailing extension fields cannot travel in this form: encoding refuses them rather than dropping
// them (dropping would break the signature). Pure functions.
#pragma once

#include <p2panda/header.hpp>

#include "core/postcard.hpp"

namespace p2panda {

// Errors: SignatureMissing (the postcard form requires one), ExtensionsMissing,
// ExtensionsUnsupported (extra extension fields), and those of NodeExtensions::decode.
Result<void> write_header_postcard(postcard::Writer& writer, const Header& header);

// Errors: Postcard*, HeaderMalformed, ExtensionsUnsupported, ExtensionsMalformed.
Result<Header> read_header_postcard(postcard::Reader& reader);

}  // namespace p2panda
