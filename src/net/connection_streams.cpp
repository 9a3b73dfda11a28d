// Stream bookkeeping of a connection driven by the application: opening and accepting streams,
// queueing writes, returning read credit, and resetting or stopping a stream.
#include "net/connection_impl.hpp"

namespace p2panda::net {

Result<std::shared_ptr<StreamState>> ConnectionImpl::open_stream(bool bidi) {
  if (!alive()) return Unexpected{error()};
  std::int64_t id = -1;
  int rv = bidi ? ngtcp2_conn_open_bidi_stream(conn_, &id, nullptr)
                : ngtcp2_conn_open_uni_stream(conn_, &id, nullptr);
  if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED) return std::shared_ptr<StreamState>();
  if (rv != 0) return fail(Errc::Io, std::string("open stream: ") + ngtcp2_strerror(rv));
  auto stream = std::make_shared<StreamState>(id, true);
  streams_[id] = stream;
  return stream;
}

std::shared_ptr<StreamState> ConnectionImpl::pop_incoming(bool bidi) {
  auto& queue = bidi ? incoming_bidi_ : incoming_uni_;
  if (queue.empty()) return nullptr;
  auto stream = std::move(queue.front());
  queue.pop_front();
  return stream;
}

void ConnectionImpl::queue_send(StreamState& stream) {
  if (!alive()) return;
  if (!stream.queued && !stream.blocked && stream.has_pending_send()) {
    stream.queued = true;
    send_queue_.push_back(stream.id);
  }
  schedule_flush();
}

void ConnectionImpl::consumed(StreamState& stream, std::size_t bytes) {
  if (!alive() || bytes == 0) return;
  if (!stream.closed) ngtcp2_conn_extend_max_stream_offset(conn_, stream.id, bytes);
  ngtcp2_conn_extend_max_offset(conn_, bytes);
  schedule_flush();
}

Result<void> ConnectionImpl::reset_stream(StreamState& stream, std::uint64_t code) {
  if (!alive()) return Unexpected{error()};
  if (stream.local_reset_code) return {};
  // A stream ngtcp2 already forgot (both sides done) has nothing left to reset.
  if (!stream.closed) {
    int rv = ngtcp2_conn_shutdown_stream_write(conn_, stream.id, code);
    if (rv != 0) return fail(Errc::Io, std::string("reset stream: ") + ngtcp2_strerror(rv));
  }
  stream.local_reset_code = code;
  stream.drop_send();  // ngtcp2 discarded its copy; writers waiting for acks must wake up
  stream.notifier.notify_all();
  schedule_flush();
  return {};
}

Result<void> ConnectionImpl::stop_stream(StreamState& stream, std::uint64_t code) {
  if (!alive()) return Unexpected{error()};
  if (stream.local_stop_code) return {};
  if (!stream.closed) {
    int rv = ngtcp2_conn_shutdown_stream_read(conn_, stream.id, code);
    if (rv != 0) return fail(Errc::Io, std::string("stop stream: ") + ngtcp2_strerror(rv));
  }
  stream.local_stop_code = code;
  // Bytes nobody will read still count against the connection window: give the credit back.
  std::size_t unread = stream.drop_received();
  if (unread > 0) ngtcp2_conn_extend_max_offset(conn_, unread);
  stream.notifier.notify_all();
  schedule_flush();
  return {};
}

}  // namespace p2panda::net
