#include "net/stream.hpp"

#include <algorithm>

#include "net/connection_impl.hpp"
#include "net/stream_state.hpp"

namespace p2panda::net {
namespace {

Result<void> check_thread(const asio::any_io_executor& executor) {
  if (!runs_here(executor))
    return fail(Errc::InvalidArgument, "must run on the endpoint's executor");
  return {};
}

Unexpected wrong_direction(const StreamState& state, const char* what) {
  return fail(Errc::InvalidArgument, "cannot " + std::string(what) + " stream " +
                                         std::to_string(state.id) + ": it is " +
                                         (state.send_only ? "send-only" : "receive-only"));
}

Unexpected reset_error(const char* what, std::uint64_t code) {
  return Unexpected{
      Error(Errc::StreamReset, std::string(what) + " with code " + std::to_string(code))
          .with_stream_code(code)};
}

// Why writing is no longer possible, if it is not.
std::optional<Unexpected> write_blocker(const StreamState& state) {
  if (state.peer_stopped) {
    if (state.stop_code)
      return reset_error("peer stopped the stream (STOP_SENDING)", *state.stop_code);
    return fail(Errc::StreamReset, "peer stopped the stream (STOP_SENDING; code not reported yet)");
  }
  if (state.local_reset_code)
    return reset_error("stream was reset locally", *state.local_reset_code);
  return std::nullopt;
}

}  // namespace

Stream::Stream(std::shared_ptr<ConnectionImpl> connection, std::shared_ptr<StreamState> state)
    : connection_(std::move(connection)), state_(std::move(state)) {}

std::int64_t Stream::id() const { return state_->id; }
bool Stream::is_send_only() const { return state_->send_only; }
bool Stream::is_receive_only() const { return state_->receive_only; }

Awaitable<Result<std::size_t>> Stream::read_some(std::span<std::uint8_t> buffer) {
  auto executor = co_await asio::this_coro::executor;
  auto ok = check_thread(executor);
  if (!ok) co_return Unexpected{std::move(ok).error()};
  if (state_->send_only) co_return wrong_direction(*state_, "read");
  for (;;) {
    if (state_->local_stop_code) {
      co_return reset_error("reading was stopped locally", *state_->local_stop_code);
    }
    if (state_->reset_code) co_return reset_error("stream reset by peer", *state_->reset_code);
    if (state_->readable() > 0) {
      std::size_t n = state_->take(buffer);
      connection_->consumed(*state_, n);
      co_return n;
    }
    if (state_->fin_received) co_return std::size_t{0};
    if (!connection_->alive()) co_return Unexpected{connection_->error()};
    if (state_->closed) co_return fail(Errc::Io, "stream closed");
    co_await state_->notifier.wait();
  }
}

Awaitable<Result<Bytes>> Stream::read_to_end(std::size_t limit) {
  Bytes all;
  std::uint8_t chunk[64 * 1024];
  for (;;) {
    auto n = co_await read_some(chunk);
    if (!n) co_return Unexpected{std::move(n).error()};
    if (*n == 0) co_return all;
    if (all.size() + *n > limit) {
      co_return fail(Errc::InvalidLength, "stream longer than " + std::to_string(limit));
    }
    all.insert(all.end(), chunk, chunk + *n);
  }
}

Awaitable<Result<void>> Stream::write(ByteSpan data) {
  auto executor = co_await asio::this_coro::executor;
  auto ok = check_thread(executor);
  if (!ok) co_return Unexpected{std::move(ok).error()};
  if (state_->receive_only) co_return wrong_direction(*state_, "write");
  const std::size_t limit = connection_->send_buffer();
  while (!data.empty()) {
    if (!connection_->alive()) co_return Unexpected{connection_->error()};
    if (auto blocker = write_blocker(*state_)) co_return std::move(*blocker);
    if (state_->fin_requested || state_->closed) {
      co_return fail(Errc::InvalidArgument, "write after finish");
    }
    if (state_->unacked() >= limit) {  // wait for the peer to acknowledge (and grant credit)
      co_await state_->notifier.wait();
      continue;
    }
    std::size_t n = std::min<std::size_t>(data.size(), limit - state_->unacked());
    state_->chunks.emplace_back(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
    state_->written += n;
    data = data.subspan(n);
    connection_->queue_send(*state_);
  }
  co_return Result<void>{};
}

Awaitable<Result<void>> Stream::finish() {
  auto executor = co_await asio::this_coro::executor;
  auto ok = check_thread(executor);
  if (!ok) co_return Unexpected{std::move(ok).error()};
  if (state_->receive_only) co_return wrong_direction(*state_, "finish");
  if (!connection_->alive()) co_return Unexpected{connection_->error()};
  if (auto blocker = write_blocker(*state_)) co_return std::move(*blocker);
  if (state_->closed) co_return fail(Errc::InvalidArgument, "stream closed");
  state_->fin_requested = true;
  connection_->queue_send(*state_);
  co_return Result<void>{};
}

Awaitable<Result<void>> Stream::reset(std::uint64_t code) {
  auto executor = co_await asio::this_coro::executor;
  auto ok = check_thread(executor);
  if (!ok) co_return Unexpected{std::move(ok).error()};
  if (state_->receive_only) co_return wrong_direction(*state_, "reset");
  co_return connection_->reset_stream(*state_, code);
}

Awaitable<Result<void>> Stream::stop(std::uint64_t code) {
  auto executor = co_await asio::this_coro::executor;
  auto ok = check_thread(executor);
  if (!ok) co_return Unexpected{std::move(ok).error()};
  if (state_->send_only) co_return wrong_direction(*state_, "stop");
  co_return connection_->stop_stream(*state_, code);
}

}  // namespace p2panda::net
