// LogHeights and Cursor: state vectors over logs.
//
// LogHeights maps author -> log id -> the highest seq_num held. compare(local, remote) answers
// "what does remote lack that local has", as ranges; sync uses it on Have messages, and ack cursors
// use it to find unacked operations. A Cursor is a named LogHeights of acknowledged positions:
// acking seq n acks everything below it in that log, and a cursor never moves back.
// Plain values: any thread.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <p2panda/ids.hpp>
#include <p2panda/keys.hpp>

namespace p2panda {

using LogHeights = std::map<PublicKey, std::map<LogId, SeqNum>>;

// Entries after `after` (exclusive; none means from the start of the log) up to `until` inclusive.
struct LogRange {
  std::optional<SeqNum> after;
  SeqNum until;
  friend bool operator==(const LogRange&, const LogRange&) = default;
};

using LogRanges = std::map<PublicKey, std::map<LogId, LogRange>>;

// For each log in `local`: absent in `remote` -> {nullopt, local height}; lower in `remote` ->
// {remote height, local height}; equal or higher -> nothing.
LogRanges compare(const LogHeights& local, const LogHeights& remote);

// Number of operations the ranges cover (ignoring pruning, which may make it smaller in a store).
std::uint64_t range_count(const LogRanges& ranges);

class Cursor {
 public:
  Cursor() = default;
  explicit Cursor(std::string name, LogHeights state = {})
      : name_(std::move(name)), state_(std::move(state)) {}

  const std::string& name() const { return name_; }
  const LogHeights& state() const { return state_; }

  // Moves the cursor to `seq` in (author, log) unless it is already there or beyond.
  // Returns whether it moved.
  bool advance(const PublicKey& author, const LogId& log, SeqNum seq);

  // True when `seq` in (author, log) is at or below the cursor.
  bool is_acked(const PublicKey& author, const LogId& log, SeqNum seq) const;

  // What `local` holds beyond this cursor.
  LogRanges unacked(const LogHeights& local) const { return compare(local, state_); }

  // CBOR `[name, {author bstr: {log_id bstr: seq}}]` with keys in ascending order, as p2panda 0.7
  // stores it in `cursors_v1.cursor`.
  Bytes encode() const;

  // Errors: Cbor* (with offsets), InvalidLength (a key of the wrong size), CborNonCanonical
  // (keys out of order or repeated), InvalidArgument (a seq_num beyond u32).
  static Result<Cursor> decode(ByteSpan bytes);

  friend bool operator==(const Cursor&, const Cursor&) = default;

 private:
  std::string name_;
  LogHeights state_;
};

}  // namespace p2panda
