#include "net/sim_stream.hpp"

#include <algorithm>
#include <cstring>

#include "net/sim_connection.hpp"

namespace p2panda::net {
std::size_t SimStreamState::take(std::span<std::uint8_t> buffer) {
  std::size_t filled = 0;
  while (filled < buffer.size() && !chunks.empty()) {
    const Bytes& front = chunks.front();
    std::size_t n = std::min(buffer.size() - filled, front.size() - head);
    std::memcpy(buffer.data() + filled, front.data() + head, n);
    filled += n;
    head += n;
    if (head == front.size()) {
      chunks.pop_front();
      head = 0;
    }
  }
  readable -= filled;
  return filled;
}

SimStream::SimStream(std::shared_ptr<SimConnection> connection,
                     std::shared_ptr<SimStreamState> state)
    : connection_(std::move(connection)), state_(std::move(state)) {}

Awaitable<Result<std::size_t>> SimStream::read_some(std::span<std::uint8_t> buffer) {
  if (!runs_here(connection_->executor())) {
    co_return fail(Errc::InvalidArgument, "must run on the simulated node's executor");
  }
  if (!state_->can_receive) {
    co_return fail(Errc::InvalidArgument, "read on a send-only (unidirectional) stream");
  }
  for (;;) {
    if (state_->aborted) co_return fail(Errc::Io, "stream aborted locally");
    if (state_->peer_abort_code) {
      co_return Unexpected{Error(Errc::StreamReset, "stream reset by peer with code " +
                                                        std::to_string(*state_->peer_abort_code))
                               .with_stream_code(*state_->peer_abort_code)};
    }
    if (buffer.empty()) co_return std::size_t{0};  // would otherwise wait for data it cannot take
    if (state_->readable > 0) {
      std::size_t n = state_->take(buffer);
      connection_->consumed(*state_, n);
      co_return n;
    }
    if (state_->fin_received && state_->readable == 0) {
      state_->fin_read = true;
      connection_->forget_if_done(*state_);
      co_return std::size_t{0};
    }
    if (!connection_->alive()) co_return Unexpected{connection_->error()};
    co_await connection_->events().wait();
  }
}

std::optional<Error> SimStream::send_error() const {
  if (!state_->can_send) {
    return Error(Errc::InvalidArgument, "write on a receive-only (unidirectional) stream");
  }
  if (!connection_->alive()) return connection_->error();
  if (state_->aborted) return Error(Errc::Io, "stream aborted locally");
  if (state_->peer_abort_code) {
    return Error(Errc::StreamReset,
                 "stream stopped by peer with code " + std::to_string(*state_->peer_abort_code))
        .with_stream_code(*state_->peer_abort_code);
  }
  if (state_->fin_sent) return Error(Errc::InvalidArgument, "write after finish");
  return std::nullopt;
}

Awaitable<Result<void>> SimStream::write(ByteSpan data) {
  if (!runs_here(connection_->executor())) {
    co_return fail(Errc::InvalidArgument, "must run on the simulated node's executor");
  }
  while (!data.empty()) {
    if (auto error = send_error()) co_return Unexpected{std::move(*error)};
    if (state_->sent >= state_->send_limit) {  // the peer has not read enough: backpressure
      co_await connection_->events().wait();
      continue;
    }
    // Packets end at multiples of kSimPacketSize in the stream (see sim_wire.hpp).
    std::uint64_t packet_end = (state_->sent / kSimPacketSize + 1) * kSimPacketSize;
    std::uint64_t room = std::min(state_->send_limit, packet_end) - state_->sent;
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(data.size(), room));
    SimFrame frame;
    frame.kind = SimFrame::Kind::Data;
    frame.stream = state_->id;
    frame.data.assign(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
    connection_->send(std::move(frame));
    state_->sent += n;
    data = data.subspan(n);
  }
  co_return Result<void>{};
}

Awaitable<Result<void>> SimStream::finish() {
  if (!runs_here(connection_->executor())) {
    co_return fail(Errc::InvalidArgument, "must run on the simulated node's executor");
  }
  if (auto error = send_error()) co_return Unexpected{std::move(*error)};
  SimFrame frame;
  frame.kind = SimFrame::Kind::Data;
  frame.stream = state_->id;
  frame.fin = true;
  connection_->send(std::move(frame));
  state_->fin_sent = true;
  connection_->forget_if_done(*state_);
  co_return Result<void>{};
}

void SimStream::abort(std::uint64_t code) {
  if (state_->aborted || state_->peer_abort_code) return;
  state_->aborted = true;
  state_->chunks.clear();
  state_->readable = 0;
  SimFrame frame;
  frame.kind = SimFrame::Kind::Abort;
  frame.stream = state_->id;
  frame.value = code;
  connection_->send(std::move(frame));
  connection_->events().notify_all();  // our own parked reads and writes fail now
  connection_->forget_if_done(*state_);
}

}  // namespace p2panda::net
