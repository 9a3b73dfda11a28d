#include <p2panda/operation.hpp>

namespace p2panda {

Operation Operation::create(const PrivateKey& key, Header header, std::optional<Body> body) {
  if (body && body->size() > 0) {
    header.payload_size = static_cast<std::uint32_t>(body->size());
    header.payload_hash = body->hash();
  } else {
    header.payload_size = 0;
    header.payload_hash.reset();
  }
  header.sign(key);
  Bytes bytes = header.encode();
  const Hash id = Hash::digest(bytes);
  return Operation(id, std::move(header), std::move(bytes), std::move(body));
}

Result<Operation> Operation::decode(ByteSpan header_bytes, std::optional<Body> body) {
  auto header = Header::decode(header_bytes);
  if (!header) return Unexpected{std::move(header).error()};
  // Strict decoding guarantees the input is the canonical encoding, so hashing the received bytes
  // gives the same id as hashing our own re-encoding.
  return Operation(Hash::digest(header_bytes), std::move(*header),
                   Bytes(header_bytes.begin(), header_bytes.end()), std::move(body));
}

Result<Operation> Operation::decode_with_id(const Hash& id, ByteSpan header_bytes,
                                           std::optional<Body> body) {
  auto header = Header::decode(header_bytes);
  if (!header) return Unexpected{std::move(header).error()};
  return Operation(id, std::move(*header), Bytes(header_bytes.begin(), header_bytes.end()),
                   std::move(body));
}

Result<void> validate_operation(const Operation& operation) {
  auto header = validate_header(operation.header());
  if (!header) return header;
  const auto& body = operation.body();
  if (!body) return {};  // a missing body is allowed: deleted or pruned payload
  if (body->size() != operation.header().payload_size) {
    return fail(Errc::PayloadSizeMismatch,
                "body has " + std::to_string(body->size()) + " bytes, header says " +
                    std::to_string(operation.header().payload_size));
  }
  if (body->size() > 0 && body->hash() != *operation.header().payload_hash) {
    return fail(Errc::PayloadHashMismatch, "BLAKE3 of the body is not the header's payload hash");
  }
  return {};
}

Result<void> validate_backlink(const Operation& past, const Header& current) {
  if (past.author() != current.public_key) {
    return fail(Errc::AuthorMismatch, "operation by " + current.public_key.to_hex() +
                                          " cannot follow one by " + past.author().to_hex());
  }
  if (past.seq_num().value() == UINT32_MAX ||
      SeqNum(past.seq_num().value() + 1) != current.seq_num) {
    return fail(Errc::SeqNumNonIncremental,
                "seq_num " + std::to_string(current.seq_num.value()) + " does not follow " +
                    std::to_string(past.seq_num().value()));
  }
  if (!current.backlink || *current.backlink != past.id()) {
    return fail(Errc::BacklinkMismatch,
                "backlink does not point at the previous operation " + past.id().to_hex());
  }
  return {};
}

Result<void> validate_prunable_backlink(const Operation* latest, const Header& current,
                                        bool prune_flag) {
  if (current.seq_num.is_first()) {
    if (latest) return validate_backlink(*latest, current);  // always fails: seq 0 restarts a log
    return {};
  }
  if (prune_flag) return {};
  if (!latest) {
    return fail(Errc::BacklinkMissing,
                "seq_num " + std::to_string(current.seq_num.value()) +
                    " arrived before its predecessor and carries no prune flag");
  }
  return validate_backlink(*latest, current);
}

}  // namespace p2panda
