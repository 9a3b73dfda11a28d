#include "net/sim_connection.hpp"

#include "net/sim_hub.hpp"
#include "net/sim_stream.hpp"

namespace p2panda::net {
namespace {

Result<void> check_thread(const asio::any_io_executor& executor) {
  if (!runs_here(executor)) {
    return fail(Errc::InvalidArgument, "must run on the simulated node's executor");
  }
  return {};
}

}  // namespace

SimConnection::SimConnection(std::shared_ptr<SimHub> hub, std::shared_ptr<SimWire> wire, int side,
                             PublicKey remote, Bytes alpn, asio::any_io_executor executor)
    : hub_(std::move(hub)),
      wire_(std::move(wire)),
      side_(side),
      remote_(remote),
      alpn_(std::move(alpn)),
      window_(hub_->config().stream_window),
      executor_(executor),
      delivery_timer_(executor),
      end_timer_(executor) {}

Error SimConnection::error() const {
  return Error(close_errc(*close_info_), close_info_->to_string());
}

// Stream ids as in QUIC: the opener's side in bit 0, unidirectional in bit 1, the count above.
Awaitable<Result<StreamHandle>> SimConnection::open(bool uni) {
  auto ok = check_thread(executor_);
  if (!ok) co_return Unexpected{std::move(ok).error()};
  if (!alive()) co_return Unexpected{error()};
  const std::uint64_t kind = uni ? 1 : 0;
  auto state = new_stream(opened_[kind]++ * 4 + kind * 2 + static_cast<std::uint64_t>(side_));
  co_return StreamHandle(std::make_shared<SimStream>(shared_from_this(), std::move(state)));
}

Awaitable<Result<StreamHandle>> SimConnection::accept(bool uni) {
  auto ok = check_thread(executor_);
  if (!ok) co_return Unexpected{std::move(ok).error()};
  // Keeps this end alive while parked, even if the caller only holds the awaitable.
  auto self = shared_from_this();
  auto& incoming = incoming_[uni ? 1 : 0];
  for (;;) {
    if (!incoming.empty()) {
      auto state = std::move(incoming.front());
      incoming.pop_front();
      co_return StreamHandle(std::make_shared<SimStream>(self, std::move(state)));
    }
    if (!alive()) co_return Unexpected{error()};
    co_await events_.wait();
  }
}

// Named locals before co_await: g++ 12 (docs/node.md, "Compiler notes").
Awaitable<Result<StreamHandle>> SimConnection::open_bi() {
  auto opening = open(false);
  co_return co_await std::move(opening);
}

Awaitable<Result<StreamHandle>> SimConnection::accept_bi() {
  auto accepting = accept(false);
  co_return co_await std::move(accepting);
}

Awaitable<Result<StreamHandle>> SimConnection::open_uni() {
  auto opening = open(true);
  co_return co_await std::move(opening);
}

Awaitable<Result<StreamHandle>> SimConnection::accept_uni() {
  auto accepting = accept(true);
  co_return co_await std::move(accepting);
}

void SimConnection::close(std::uint64_t code, std::string_view reason) {
  if (!alive()) return;
  SimFrame frame;
  frame.kind = SimFrame::Kind::Close;
  frame.value = code;
  frame.reason = std::string(reason);
  hub_->transmit(*wire_, side_, std::move(frame));
  end_with(CloseInfo{CloseInfo::Kind::Local, code, std::string(reason)});
}

Awaitable<Result<void>> SimConnection::closed() {
  auto self = shared_from_this();
  while (alive()) co_await events_.wait();
  co_return close_result(*close_info_);
}

void SimConnection::pump() {
  if (!alive()) return;
  std::optional<std::chrono::steady_clock::time_point> next;
  auto due = hub_->take_due(*wire_, side_, std::chrono::steady_clock::now(), next);
  for (auto& frame : due) {
    if (!alive()) return;
    apply(std::move(frame));
  }
  if (!due.empty()) events_.notify_all();
  if (!next || !alive()) return;
  // The timer waits for the head of the inbox; it moves only when idle or for an earlier head.
  if (armed_for_ && *armed_for_ <= *next) return;
  armed_for_ = next;
  delivery_timer_.expires_at(*next);
  delivery_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (ec) return;  // re-armed or cancelled
    self->armed_for_.reset();
    self->pump();
  });
}

void SimConnection::end_after(std::chrono::milliseconds delay, CloseInfo info) {
  if (!alive()) return;
  if (delay.count() <= 0) {
    end_with(std::move(info));
    return;
  }
  end_timer_.expires_after(delay);
  end_timer_.async_wait([self = shared_from_this(), info = std::move(info)](std::error_code ec) {
    if (!ec) self->end_with(info);
  });
}

void SimConnection::send(SimFrame frame) {
  if (!alive()) return;
  hub_->transmit(*wire_, side_, std::move(frame));
}

void SimConnection::consumed(SimStreamState& stream, std::size_t n) {
  stream.consumed += n;
  if (stream.fin_received || stream.aborted || stream.peer_abort_code) return;
  // Credit stays a multiple of the packet size (see kSimPacketSize) and goes out in steps of a
  // quarter window, as QUIC receivers batch MAX_STREAM_DATA.
  std::uint64_t limit = (stream.consumed + window_) / kSimPacketSize * kSimPacketSize;
  std::uint64_t step = std::max<std::uint64_t>(kSimPacketSize, window_ / 4);
  if (limit < stream.advertised + step) return;
  stream.advertised = limit;
  SimFrame frame;
  frame.kind = SimFrame::Kind::Credit;
  frame.stream = stream.id;
  frame.value = limit;
  send(std::move(frame));
}

void SimConnection::forget_if_done(const SimStreamState& stream) {
  if (stream.done()) streams_.erase(stream.id);
}

std::shared_ptr<SimStreamState> SimConnection::new_stream(std::uint64_t id) {
  auto state = std::make_shared<SimStreamState>();
  state->id = id;
  state->send_limit = window_;
  state->advertised = window_;
  if ((id & 2) != 0) {  // unidirectional: only its opener sends
    const bool ours = (id & 1) == static_cast<std::uint64_t>(side_);
    state->can_send = ours;
    state->can_receive = !ours;
  }
  streams_[id] = state;
  return state;
}

// The stream a packet is for. Like QUIC, a peer's stream appears with its first packet, and so do
// the peer's lower-numbered streams of the same kind that have not appeared yet. Null for streams
// already forgotten.
std::shared_ptr<SimStreamState> SimConnection::stream_for(std::uint64_t id) {
  if (auto found = streams_.find(id); found != streams_.end()) return found->second;
  bool peer_side = (id & 1) != static_cast<std::uint64_t>(side_);
  if (!peer_side) return nullptr;
  const std::uint64_t kind = (id >> 1) & 1;
  std::uint64_t count = id / 4;
  if (count < peer_opened_[kind]) return nullptr;
  std::shared_ptr<SimStreamState> state;
  for (; peer_opened_[kind] <= count; ++peer_opened_[kind]) {
    state = new_stream(peer_opened_[kind] * 4 + kind * 2 + static_cast<std::uint64_t>(1 - side_));
    incoming_[kind].push_back(state);
  }
  return state;
}

void SimConnection::apply(SimFrame frame) {
  if (frame.kind == SimFrame::Kind::Close) {
    end_with(CloseInfo{CloseInfo::Kind::Peer, frame.value, std::move(frame.reason)});
    return;
  }
  auto stream = stream_for(frame.stream);
  if (!stream) return;
  switch (frame.kind) {
    case SimFrame::Kind::Data:
      if (stream->aborted || stream->peer_abort_code) break;
      if (!frame.data.empty()) {
        stream->readable += frame.data.size();
        stream->chunks.push_back(std::move(frame.data));
      }
      stream->fin_received = stream->fin_received || frame.fin;
      break;
    case SimFrame::Kind::Credit:
      stream->send_limit = std::max(stream->send_limit, frame.value);
      break;
    case SimFrame::Kind::Abort:
      if (stream->aborted) break;
      stream->peer_abort_code = frame.value;
      // What was not read yet is discarded, as QUIC may after RESET_STREAM.
      stream->chunks.clear();
      stream->readable = 0;
      forget_if_done(*stream);
      break;
    case SimFrame::Kind::Close:
      break;
  }
}

void SimConnection::end_with(CloseInfo info) {
  if (!alive()) return;
  close_info_ = std::move(info);
  delivery_timer_.cancel();
  end_timer_.cancel();
  armed_for_.reset();
  events_.notify_all();
  hub_->release(*wire_, side_);
}

}  // namespace p2panda::net
