// Setup, the packet path (read, write, timer) and teardown of one QUIC connection. The ngtcp2
// callbacks and stream bookkeeping are in connection_callbacks.cpp.
#include "net/connection_impl.hpp"

#include <algorithm>
#include <chrono>

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "net/endpoint_impl.hpp"
#include "net/udp_batch.hpp"
#include "net/udp_socket.hpp"

namespace p2panda::net {
namespace {

constexpr std::size_t kCidLength = EndpointImpl::kCidLength;
constexpr std::size_t kMaxPacket = 1500;

ngtcp2_cid random_cid() {
  ngtcp2_cid cid{};
  cid.datalen = kCidLength;
  gnutls_rnd(GNUTLS_RND_NONCE, cid.data, kCidLength);
  return cid;
}

ngtcp2_cc_algo cc_algo(CongestionControl choice) {
  switch (choice) {
    case CongestionControl::Reno:
      return NGTCP2_CC_ALGO_RENO;
    case CongestionControl::Bbr:
      return NGTCP2_CC_ALGO_BBR;
    case CongestionControl::Bbr2:
      return NGTCP2_CC_ALGO_BBR2;
    case CongestionControl::Cubic:
      break;
  }
  return NGTCP2_CC_ALGO_CUBIC;
}

Bytes cid_bytes(const ngtcp2_cid& cid) { return Bytes(cid.data, cid.data + cid.datalen); }

ngtcp2_addr to_addr(const SocketAddress& address) {
  return ngtcp2_addr{const_cast<ngtcp2_sockaddr*>(
                         reinterpret_cast<const ngtcp2_sockaddr*>(address.data())),
                     static_cast<ngtcp2_socklen>(address.size())};
}

}  // namespace

ngtcp2_tstamp now_ns() {
  return static_cast<ngtcp2_tstamp>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

ConnectionImpl::ConnectionImpl(Setup setup, bool server)
    : endpoint_(setup.endpoint),
      socket_(setup.socket),
      remote_(setup.remote),
      config_(setup.config),
      tls_(std::move(setup.tls)),
      server_(server) {
  timer_.emplace(endpoint_->io());
  const auto& local = socket_->local();
  ngtcp2_path_storage_init(&path_, reinterpret_cast<const ngtcp2_sockaddr*>(local.data()),
                           static_cast<ngtcp2_socklen>(local.size()),
                           reinterpret_cast<const ngtcp2_sockaddr*>(remote_.data()),
                           static_cast<ngtcp2_socklen>(remote_.size()), nullptr);
}

ConnectionImpl::~ConnectionImpl() {
  if (conn_ != nullptr) ngtcp2_conn_del(conn_);
  // Whatever ngtcp2 still holds now is lost to it (see connection_memory.hpp).
  memory_.release_all();
}

void ConnectionImpl::fill_settings(ngtcp2_settings& settings) const {
  ngtcp2_settings_default(&settings);
  settings.initial_ts = now_ns();
  settings.cc_algo = cc_algo(config_.congestion_control);
  settings.max_window = config_.max_connection_window;
  settings.max_stream_window = config_.max_stream_window;
  settings.handshake_timeout =
      static_cast<ngtcp2_duration>(config_.handshake_timeout.count()) * NGTCP2_MILLISECONDS;
}

void ConnectionImpl::fill_params(ngtcp2_transport_params& params) const {
  ngtcp2_transport_params_default(&params);
  params.initial_max_stream_data_bidi_local = config_.stream_window;
  params.initial_max_stream_data_bidi_remote = config_.stream_window;
  params.initial_max_stream_data_uni = config_.stream_window;
  params.initial_max_data = config_.connection_window;
  params.initial_max_streams_bidi = config_.max_bidi_streams;
  params.initial_max_streams_uni = config_.max_uni_streams;
  params.max_idle_timeout =
      static_cast<ngtcp2_duration>(config_.idle_timeout.count()) * NGTCP2_MILLISECONDS;
}

Result<void> ConnectionImpl::finish_setup(int rv) {
  if (rv != 0) {
    conn_ = nullptr;  // ngtcp2 freed what it had allocated but may have left the pointer set
    return fail(Errc::Io, std::string("ngtcp2 connection setup: ") + ngtcp2_strerror(rv));
  }
  tls_->attach(conn_);
  if (config_.keep_alive.count() > 0) {
    ngtcp2_conn_set_keep_alive_timeout(
        conn_, static_cast<ngtcp2_duration>(config_.keep_alive.count()) * NGTCP2_MILLISECONDS);
  }
  return {};
}

Result<std::shared_ptr<ConnectionImpl>> ConnectionImpl::client(Setup setup,
                                                              const PublicKey& expected,
                                                              Bytes alpn) {
  std::shared_ptr<ConnectionImpl> self(new ConnectionImpl(std::move(setup), false));
  self->remote_id_ = expected;
  self->alpn_ = std::move(alpn);
  ngtcp2_settings settings;
  self->fill_settings(settings);
  ngtcp2_transport_params params;
  self->fill_params(params);
  ngtcp2_cid dcid = random_cid();
  ngtcp2_cid scid = random_cid();
  int rv = ngtcp2_conn_client_new(&self->conn_, &dcid, &scid, &self->path_.path,
                                  NGTCP2_PROTO_VER_V1, &callbacks(false), &settings, &params,
                                  self->memory_.get(), self.get());
  auto ok = self->finish_setup(rv);
  if (!ok) return Unexpected{std::move(ok).error()};
  self->source_ids_.push_back(cid_bytes(scid));
  self->endpoint_->register_cid(self->source_ids_.back(), self);
  return self;
}

Result<std::shared_ptr<ConnectionImpl>> ConnectionImpl::server(Setup setup,
                                                              const ngtcp2_pkt_hd& header,
                                                              const RetryProof* proof) {
  std::shared_ptr<ConnectionImpl> self(new ConnectionImpl(std::move(setup), true));
  ngtcp2_settings settings;
  self->fill_settings(settings);
  ngtcp2_transport_params params;
  self->fill_params(params);
  params.original_dcid = header.dcid;
  if (proof != nullptr) {
    // The client proved its address: ngtcp2 lifts the anti-amplification limit, and both ids
    // go into the transport parameters so the client can check that the Retry came from us.
    settings.token.base = const_cast<std::uint8_t*>(proof->token.data());
    settings.token.len = proof->token.size();
    params.original_dcid = proof->original_dcid;
    params.retry_scid = proof->retry_scid;
    params.retry_scid_present = 1;
  }
  ngtcp2_cid scid = random_cid();
  int rv = ngtcp2_conn_server_new(&self->conn_, &header.scid, &scid, &self->path_.path,
                                  header.version, &callbacks(true), &settings, &params,
                                  self->memory_.get(), self.get());
  auto ok = self->finish_setup(rv);
  if (!ok) return Unexpected{std::move(ok).error()};
  // The client keeps using its chosen destination id until it hears from us.
  for (const auto& cid : {cid_bytes(scid), cid_bytes(header.dcid)}) {
    self->source_ids_.push_back(cid);
    self->endpoint_->register_cid(cid, self);
  }
  return self;
}

void ConnectionImpl::on_datagram(const SocketAddress& from, ByteSpan datagram) {
  if (!alive()) return;
  ngtcp2_path path{to_addr(socket_->local()), to_addr(from), nullptr};
  ngtcp2_pkt_info info{};
  int rv = ngtcp2_conn_read_pkt(conn_, &path, &info, datagram.data(), datagram.size(), now_ns());
  if (rv != 0) {
    handle_read_error(rv);
  } else if (refusal_) {
    auto [code, reason] = std::move(*refusal_);
    refusal_.reset();
    close_transport(code, reason);
  }
}

void ConnectionImpl::schedule_flush() {
  if (flush_scheduled_ || !alive()) return;
  flush_scheduled_ = true;
  asio::post(endpoint_->io(), [weak = weak_from_this()] {
    if (auto self = weak.lock()) {
      self->flush_scheduled_ = false;
      self->flush();
    }
  });
}

void ConnectionImpl::flush() {
  if (!alive() || in_flush_) return;
  auto self = shared_from_this();
  in_flush_ = true;
  const std::size_t max_packet =
      std::min(ngtcp2_conn_get_max_tx_udp_payload_size(conn_), kMaxPacket);
  const std::size_t budget =
      std::max<std::size_t>(ngtcp2_conn_get_send_quantum(conn_) / max_packet, 16);
  // Packets are written straight into the socket's batch buffer; runs of equal-sized packets
  // leave in one GSO send (the socket splits them again when GSO is off or refused).
  SendBatch batch(socket_->send_storage(), max_packet, kMaxGsoSegments);
  auto send_pending = [&] {
    socket_->send(remote_, batch.pending(), batch.segment_size());
    batch.clear();
  };
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_tstamp ts = now_ns();
  std::size_t packets = 0;
  int error = 0;
  bool more = false;  // the budget ran out before ngtcp2 did
  for (;;) {
    StreamState* stream = next_sendable();
    ngtcp2_vec vecs[16];
    std::size_t nvecs = 0;
    std::int64_t stream_id = -1;
    std::uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
    if (stream != nullptr) {
      stream_id = stream->id;
      nvecs = stream->unsent(vecs, 16);
      std::uint64_t total = 0;
      for (std::size_t i = 0; i < nvecs; ++i) total += vecs[i].len;
      if (stream->fin_requested && stream->sent + total == stream->written) {
        flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
      }
    }
    ngtcp2_ssize accepted = -1;
    ngtcp2_pkt_info info{};
    auto slot = batch.slot();
    auto n = ngtcp2_conn_writev_stream(conn_, &ps.path, &info, slot.data(), slot.size(),
                                       &accepted, flags, stream_id, vecs, nvecs, ts);
    if (stream != nullptr && accepted >= 0) {
      stream->sent += static_cast<std::uint64_t>(accepted);
      if ((flags & NGTCP2_WRITE_STREAM_FLAG_FIN) && stream->sent == stream->written) {
        stream->fin_sent = true;
      }
    }
    if (n == NGTCP2_ERR_WRITE_MORE) continue;
    if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED || n == NGTCP2_ERR_STREAM_SHUT_WR ||
        n == NGTCP2_ERR_STREAM_NOT_FOUND) {
      stream->blocked = n == NGTCP2_ERR_STREAM_DATA_BLOCKED;
      if (n == NGTCP2_ERR_STREAM_SHUT_WR) stream->on_write_shut();
      if (n != NGTCP2_ERR_STREAM_DATA_BLOCKED) stream->fin_sent = true;  // nothing more to send
      stream->queued = false;
      send_queue_.pop_front();
      continue;
    }
    if (n < 0) {
      error = static_cast<int>(n);
      break;
    }
    if (n == 0) break;
    auto next = batch.commit(static_cast<std::size_t>(n));
    if (next == SendBatch::Next::SendBefore) {
      send_pending();
      next = batch.carry();
    }
    if (next == SendBatch::Next::Send) send_pending();
    if (++packets >= budget) {  // let received packets (acks) in before writing more
      more = true;
      break;
    }
  }
  if (batch.segments() > 0) send_pending();
  in_flush_ = false;
  if (error != 0) {
    close_with_error(error);
    return;
  }
  if (!alive()) return;
  if (more) schedule_flush();
  // ngtcp2 0.12 paces with an assumed 333 ms RTT until the first RTT sample, which stalls the
  // handshake by ~20 ms a packet; upstream fixed this in 0.14. Pace only once a sample exists.
  ngtcp2_conn_stat stat;
  ngtcp2_conn_get_conn_stat(conn_, &stat);
  if (stat.first_rtt_sample_ts != UINT64_MAX) ngtcp2_conn_update_pkt_tx_time(conn_, ts);
  arm_timer();
}

StreamState* ConnectionImpl::next_sendable() {
  while (!send_queue_.empty()) {
    auto it = streams_.find(send_queue_.front());
    if (it != streams_.end() && it->second->has_pending_send() && !it->second->blocked) {
      return it->second.get();
    }
    if (it != streams_.end()) it->second->queued = false;
    send_queue_.pop_front();
  }
  return nullptr;
}

// Moving an armed asio timer costs a timerfd_settime and a cancelled handler, and ngtcp2's expiry
// moves on nearly every flush (ack delay, loss timer, pacing). So the timer is only moved earlier;
// when it fires before ngtcp2's real expiry, on_timer finds nothing due and re-arms it.
void ConnectionImpl::arm_timer() {
  const ngtcp2_tstamp expiry = ngtcp2_conn_get_expiry(conn_);
  if (expiry >= timer_expiry_) return;  // also when both are UINT64_MAX (nothing due)
  timer_expiry_ = expiry;
  timer_->expires_at(asio::steady_timer::time_point(std::chrono::nanoseconds(expiry)));
  timer_->async_wait([weak = weak_from_this()](std::error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) {
      self->timer_expiry_ = UINT64_MAX;
      self->on_timer();
    }
  });
}

void ConnectionImpl::on_timer() {
  if (!alive()) return;
  int rv = ngtcp2_conn_handle_expiry(conn_, now_ns());
  if (rv == NGTCP2_ERR_IDLE_CLOSE) {
    terminate(CloseInfo{CloseInfo::Kind::IdleTimeout, 0, "no packets from the peer"});
  } else if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
    terminate(CloseInfo{CloseInfo::Kind::HandshakeTimeout, 0, "handshake timed out"});
  } else if (rv != 0) {
    close_with_error(rv);
  } else {
    flush();
  }
}

}  // namespace p2panda::net
