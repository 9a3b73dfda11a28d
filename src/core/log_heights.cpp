#include <p2panda/log_heights.hpp>

#include "core/cbor.hpp"

namespace p2panda {
namespace {

// Reads a 32-byte map key that must sort strictly after `previous` (canonical, no duplicates).
template <class Key>
Result<Key> read_key(cbor::Reader& reader, const std::optional<Key>& previous) {
  const std::size_t at = reader.offset();
  auto bytes = reader.read_bytes();
  if (!bytes) return Unexpected{std::move(bytes).error()};
  auto key = Key::from_bytes(*bytes);
  if (!key) return key;
  if (previous && !(*previous < *key)) {
    return fail(Errc::CborNonCanonical,
                "cbor: map keys out of order or repeated at offset " + std::to_string(at));
  }
  return key;
}

}  // namespace

LogRanges compare(const LogHeights& local, const LogHeights& remote) {
  LogRanges ranges;
  for (const auto& [author, logs] : local) {
    const auto remote_author = remote.find(author);
    for (const auto& [log, height] : logs) {
      std::optional<SeqNum> remote_height;
      if (remote_author != remote.end()) {
        const auto found = remote_author->second.find(log);
        if (found != remote_author->second.end()) remote_height = found->second;
      }
      if (remote_height && *remote_height >= height) continue;
      ranges[author][log] = LogRange{remote_height, height};
    }
  }
  return ranges;
}

std::uint64_t range_count(const LogRanges& ranges) {
  std::uint64_t count = 0;
  for (const auto& [author, logs] : ranges) {
    for (const auto& [log, range] : logs) {
      count += range.until.value() + 1ULL - (range.after ? range.after->value() + 1ULL : 0);
    }
  }
  return count;
}

bool Cursor::advance(const PublicKey& author, const LogId& log, SeqNum seq) {
  auto& logs = state_[author];
  const auto [position, inserted] = logs.try_emplace(log, seq);
  if (inserted) return true;
  if (position->second >= seq) return false;
  position->second = seq;
  return true;
}

bool Cursor::is_acked(const PublicKey& author, const LogId& log, SeqNum seq) const {
  const auto logs = state_.find(author);
  if (logs == state_.end()) return false;
  const auto position = logs->second.find(log);
  return position != logs->second.end() && seq <= position->second;
}

Bytes Cursor::encode() const {
  cbor::Writer writer;
  writer.array(2).text(name_).map(state_.size());
  for (const auto& [author, logs] : state_) {
    writer.bytes(author.bytes()).map(logs.size());
    for (const auto& [log, seq] : logs) writer.bytes(log.bytes()).uint(seq.value());
  }
  return std::move(writer).take();
}

Result<Cursor> Cursor::decode(ByteSpan bytes) {
  cbor::Reader reader(bytes);
  auto fields = reader.read_array();
  if (!fields) return Unexpected{std::move(fields).error()};
  if (*fields != 2) {
    return fail(Errc::CborTypeMismatch,
                "cursor: expected [name, state], found " + std::to_string(*fields) + " fields");
  }
  auto name = reader.read_text();
  if (!name) return Unexpected{std::move(name).error()};
  Cursor cursor{std::string(*name)};
  auto authors = reader.read_map();
  if (!authors) return Unexpected{std::move(authors).error()};
  std::optional<PublicKey> previous_author;
  for (std::uint64_t a = 0; a < *authors; ++a) {
    auto author = read_key<PublicKey>(reader, previous_author);
    if (!author) return Unexpected{std::move(author).error()};
    previous_author = *author;
    auto logs = reader.read_map();
    if (!logs) return Unexpected{std::move(logs).error()};
    auto& state = cursor.state_[*author];
    std::optional<LogId> previous_log;
    for (std::uint64_t l = 0; l < *logs; ++l) {
      auto log = read_key<LogId>(reader, previous_log);
      if (!log) return Unexpected{std::move(log).error()};
      previous_log = *log;
      const std::size_t at = reader.offset();
      auto seq = reader.read_uint();
      if (!seq) return Unexpected{std::move(seq).error()};
      if (*seq > UINT32_MAX) {
        return fail(Errc::InvalidArgument, "cursor: seq_num beyond u32 at offset " +
                                               std::to_string(at));
      }
      state.emplace(*log, SeqNum(static_cast<std::uint32_t>(*seq)));
    }
  }
  auto end = reader.expect_end();
  if (!end) return Unexpected{std::move(end).error()};
  return cursor;
}

}  // namespace p2panda
