#include "net/stream_state.hpp"

#include <algorithm>
#include <cstring>

namespace p2panda::net {

void StreamState::append(ByteSpan data) {
  // Compact instead of growing forever when the reader keeps up.
  if (read_pos > 0 && read_pos == received.size()) {
    received.clear();
    read_pos = 0;
  } else if (read_pos > (1 << 20) && read_pos * 2 > received.size()) {
    received.erase(received.begin(), received.begin() + static_cast<std::ptrdiff_t>(read_pos));
    read_pos = 0;
  }
  received.insert(received.end(), data.begin(), data.end());
}

std::size_t StreamState::take(std::span<std::uint8_t> buffer) {
  std::size_t n = std::min(buffer.size(), readable());
  std::memcpy(buffer.data(), received.data() + read_pos, n);
  read_pos += n;
  return n;
}

std::size_t StreamState::unsent(ngtcp2_vec* vecs, std::size_t max) const {
  std::size_t count = 0;
  std::uint64_t chunk_start = chunks_base;
  for (const auto& chunk : chunks) {
    if (count == max) break;
    std::uint64_t chunk_end = chunk_start + chunk.size();
    if (chunk_end > sent) {
      std::uint64_t skip = sent > chunk_start ? sent - chunk_start : 0;
      vecs[count].base = const_cast<std::uint8_t*>(chunk.data()) + skip;
      vecs[count].len = static_cast<std::size_t>(chunk.size() - skip);
      ++count;
    }
    chunk_start = chunk_end;
  }
  return count;
}

void StreamState::on_acked(std::uint64_t offset, std::uint64_t length) {
  acked = std::max(acked, offset + length);
  while (!chunks.empty() && chunks_base + chunks.front().size() <= acked) {
    chunks_base += chunks.front().size();
    chunks.pop_front();
  }
}

void StreamState::drop_send() {
  // ngtcp2 0.12 may still copy bytes of lost packets from these buffers after a reset or a stop
  // (ASan caught it in the node crash test): keep them alive with the stream, only unqueued.
  for (auto& chunk : chunks) retired.push_back(std::move(chunk));
  chunks.clear();
  chunks_base = written;
  sent = written;
  acked = written;
  fin_sent = true;
}

void StreamState::on_write_shut() {
  if (local_reset_code || (fin_sent && acked == written)) return;  // we ended it ourselves
  peer_stopped = true;
  drop_send();
  notifier.notify_all();
}

std::size_t StreamState::drop_received() {
  std::size_t unread = readable();
  received.clear();
  read_pos = 0;
  return unread;
}

}  // namespace p2panda::net
