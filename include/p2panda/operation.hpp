// Operation: a header, its id and an optional body, plus the ingest rules that relate operations
// in one append-only log (author, log id). A body may be absent (deleted or pruned payload, or a
// system-only operation); when present it must match payload_size and payload_hash.
//
// An Operation keeps the exact header bytes it was decoded from or encoded to, so the id is
// computed once and stores and peers can forward the bytes without re-encoding. Plain value.
#pragma once

#include <optional>

#include <p2panda/header.hpp>

namespace p2panda {

class Body {
 public:
  Body() = default;
  explicit Body(Bytes bytes) : bytes_(std::move(bytes)) {}
  explicit Body(ByteSpan bytes) : bytes_(bytes.begin(), bytes.end()) {}

  const Bytes& bytes() const { return bytes_; }
  std::size_t size() const { return bytes_.size(); }
  Hash hash() const { return Hash::digest(bytes_); }
  friend bool operator==(const Body&, const Body&) = default;

 private:
  Bytes bytes_;
};

class Operation {
 public:
  // Builds and signs an operation: sets public_key, payload_size and payload_hash from `body`,
  // signs `header` with `key`. The other header fields are taken as given (nothing is validated).
  static Operation create(const PrivateKey& key, Header header, std::optional<Body> body);

  // Decodes header bytes (strictly: see Header::decode) and attaches the body. Does not validate.
  // Errors: as Header::decode.
  static Result<Operation> decode(ByteSpan header_bytes, std::optional<Body> body);

  // Like decode, but takes the id as known instead of hashing the bytes. Only for bytes whose id
  // was computed when they were first received, such as rows of our own store.
  static Result<Operation> decode_with_id(const Hash& id, ByteSpan header_bytes,
                                          std::optional<Body> body);

  const Hash& id() const { return id_; }
  const Header& header() const { return header_; }
  const Bytes& header_bytes() const { return header_bytes_; }
  const std::optional<Body>& body() const { return body_; }
  const PublicKey& author() const { return header_.public_key; }
  SeqNum seq_num() const { return header_.seq_num; }

  // Drops the body (as pruning a payload does); id and signature are unaffected.
  void drop_body() { body_.reset(); }

  friend bool operator==(const Operation& a, const Operation& b) {
    return a.id_ == b.id_ && a.body_ == b.body_;
  }

 private:
  Operation(Hash id, Header header, Bytes header_bytes, std::optional<Body> body)
      : id_(id),
        header_(std::move(header)),
        header_bytes_(std::move(header_bytes)),
        body_(std::move(body)) {}

  Hash id_;
  Header header_;
  Bytes header_bytes_;
  std::optional<Body> body_;
};

// validate_header plus, when a body is present, its size and hash.
// Errors: as validate_header, PayloadSizeMismatch, PayloadHashMismatch.
Result<void> validate_operation(const Operation& operation);

// `current` directly follows `past` in one log: same author, seq + 1, backlink = id of past.
// Errors: AuthorMismatch, SeqNumNonIncremental, BacklinkMismatch.
Result<void> validate_backlink(const Operation& past, const Header& current);

// The ingest rule for a log that may be pruned. `latest` is the latest stored operation of the
// same (author, log), if any. seq 0 starts a log (and fails when the log has entries); seq n > 0
// needs `latest` to be its direct predecessor, unless `prune_flag` is set, in which case no
// backlink check is done (the entries below were deleted by design).
// Errors: as validate_backlink, BacklinkMissing (seq > 0, no latest entry, no prune flag).
Result<void> validate_prunable_backlink(const Operation* latest, const Header& current,
                                        bool prune_flag);

}  // namespace p2panda
