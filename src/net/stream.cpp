#include "net/stream.hpp"

#include <algorithm>

#include "net/connection_impl.hpp"
#include "net/stream_state.hpp"

namespace p2panda::net {

Stream::Stream(std::shared_ptr<ConnectionImpl> connection, std::shared_ptr<StreamState> state)
    : connection_(std::move(connection)), state_(std::move(state)) {}

std::int64_t Stream::id() const { return state_->id; }

Awaitable<Result<std::size_t>> Stream::read_some(std::span<std::uint8_t> buffer) {
  auto executor = co_await asio::this_coro::executor;
  if (!runs_here(executor)) {
    co_return fail(Errc::InvalidArgument, "must run on the endpoint's executor");
  }
  for (;;) {
    if (state_->readable() > 0) {
      std::size_t n = state_->take(buffer);
      connection_->consumed(*state_, n);
      co_return n;
    }
    if (state_->fin_received) co_return std::size_t{0};
    if (state_->reset_code) {
      co_return fail(Errc::Io, "stream reset by peer with code " +
                                   std::to_string(*state_->reset_code));
    }
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
  if (!runs_here(executor)) {
    co_return fail(Errc::InvalidArgument, "must run on the endpoint's executor");
  }
  const std::size_t limit = connection_->send_buffer();
  while (!data.empty()) {
    if (!connection_->alive()) co_return Unexpected{connection_->error()};
    if (state_->stop_code) {
      co_return fail(Errc::Io, "peer stopped the stream with code " +
                                   std::to_string(*state_->stop_code));
    }
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
  if (!runs_here(executor)) {
    co_return fail(Errc::InvalidArgument, "must run on the endpoint's executor");
  }
  if (!connection_->alive()) co_return Unexpected{connection_->error()};
  if (state_->closed) co_return fail(Errc::InvalidArgument, "stream closed");
  state_->fin_requested = true;
  connection_->queue_send(*state_);
  co_return Result<void>{};
}

}  // namespace p2panda::net
