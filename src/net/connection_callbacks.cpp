// The ngtcp2 callbacks of a connection and the stream bookkeeping they drive.
#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "net/connection_impl.hpp"
#include "net/endpoint_impl.hpp"

namespace p2panda::net {
namespace {

ConnectionImpl& self(void* user_data) { return *static_cast<ConnectionImpl*>(user_data); }

bool is_bidi(std::int64_t id) { return (id & 0x2) == 0; }

int handshake_completed(ngtcp2_conn*, void* user_data) {
  return self(user_data).on_handshake_completed();
}

int recv_stream_data(ngtcp2_conn*, std::uint32_t flags, std::int64_t id, std::uint64_t,
                     const std::uint8_t* data, std::size_t length, void* user_data, void*) {
  return self(user_data).on_stream_data(id, flags, ByteSpan(data, length));
}

int acked_stream_data_offset(ngtcp2_conn*, std::int64_t id, std::uint64_t offset,
                             std::uint64_t length, void* user_data, void*) {
  return self(user_data).on_stream_acked(id, offset, length);
}

int stream_open(ngtcp2_conn*, std::int64_t id, void* user_data) {
  return self(user_data).on_stream_open(id);
}

int stream_close(ngtcp2_conn*, std::uint32_t flags, std::int64_t id, std::uint64_t app_code,
                 void* user_data, void*) {
  std::optional<std::uint64_t> code;
  if (flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) code = app_code;
  return self(user_data).on_stream_close(id, code);
}

int stream_reset(ngtcp2_conn*, std::int64_t id, std::uint64_t, std::uint64_t app_code,
                 void* user_data, void*) {
  return self(user_data).on_stream_reset(id, app_code);
}

int stream_stop_sending(ngtcp2_conn*, std::int64_t id, std::uint64_t app_code, void* user_data,
                        void*) {
  return self(user_data).on_stream_stop_sending(id, app_code);
}

int extend_max_local_streams(ngtcp2_conn*, std::uint64_t, void* user_data) {
  self(user_data).events().notify_all();
  return 0;
}

int extend_max_stream_data(ngtcp2_conn*, std::int64_t id, std::uint64_t, void* user_data,
                           void*) {
  return self(user_data).on_extend_stream_data(id);
}

void random_bytes(std::uint8_t* dest, std::size_t length, const ngtcp2_rand_ctx*) {
  gnutls_rnd(GNUTLS_RND_RANDOM, dest, length);
}

int get_new_connection_id(ngtcp2_conn*, ngtcp2_cid* cid, std::uint8_t* token,
                          std::size_t length, void* user_data) {
  return self(user_data).on_new_connection_id(cid, token, length);
}

int remove_connection_id(ngtcp2_conn*, const ngtcp2_cid* cid, void* user_data) {
  return self(user_data).on_remove_connection_id(cid);
}

ngtcp2_callbacks make_callbacks(bool server) {
  ngtcp2_callbacks cb{};
  if (server) {
    cb.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  } else {
    cb.client_initial = ngtcp2_crypto_client_initial_cb;
    cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
  }
  cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  cb.encrypt = ngtcp2_crypto_encrypt_cb;
  cb.decrypt = ngtcp2_crypto_decrypt_cb;
  cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb.update_key = ngtcp2_crypto_update_key_cb;
  cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb.handshake_completed = handshake_completed;
  cb.recv_stream_data = recv_stream_data;
  cb.acked_stream_data_offset = acked_stream_data_offset;
  cb.stream_open = stream_open;
  cb.stream_close = stream_close;
  cb.stream_reset = stream_reset;
  cb.stream_stop_sending = stream_stop_sending;
  cb.extend_max_local_streams_bidi = extend_max_local_streams;
  cb.extend_max_local_streams_uni = extend_max_local_streams;
  cb.extend_max_stream_data = extend_max_stream_data;
  cb.rand = random_bytes;
  cb.get_new_connection_id = get_new_connection_id;
  cb.remove_connection_id = remove_connection_id;
  return cb;
}

}  // namespace

const ngtcp2_callbacks& ConnectionImpl::callbacks(bool server) {
  static const ngtcp2_callbacks client_callbacks = make_callbacks(false);
  static const ngtcp2_callbacks server_callbacks = make_callbacks(true);
  return server ? server_callbacks : client_callbacks;
}

int ConnectionImpl::on_handshake_completed() {
  if (!tls_->peer_key()) return NGTCP2_ERR_CALLBACK_FAILURE;  // verification never ran
  alpn_ = tls_->selected_alpn();
  if (alpn_.empty()) return NGTCP2_ERR_CALLBACK_FAILURE;  // ALPN is mandatory
  remote_id_ = *tls_->peer_key();
  if (server_) {
    // The client's key is known only now, so the per-peer limit is checked here.
    refusal_ = endpoint_->admit(*this);
    if (refusal_) return 0;
  }
  handshake_done_ = true;
  endpoint_->count_handshake();
  events_.notify_all();
  if (server_) endpoint_->on_accepted(shared_from_this());
  return 0;
}

int ConnectionImpl::on_stream_open(std::int64_t id) {
  auto stream = std::make_shared<StreamState>(id, false);
  streams_[id] = stream;
  (is_bidi(id) ? incoming_bidi_ : incoming_uni_).push_back(std::move(stream));
  events_.notify_all();
  return 0;
}

int ConnectionImpl::on_stream_data(std::int64_t id, std::uint32_t flags, ByteSpan data) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return 0;
  it->second->append(data);
  if (flags & NGTCP2_STREAM_DATA_FLAG_FIN) {
    it->second->fin_received = true;
    if (it->second->receive_only) credit_remote_stream(*it->second);
  }
  it->second->notifier.notify_all();
  // A finished receive-only stream gets no more callbacks (ngtcp2 0.12.1 never closes it), so
  // only the application's handle needs its state now.
  if (it->second->receive_only && it->second->fin_received) streams_.erase(it);
  return 0;
}

int ConnectionImpl::on_stream_acked(std::int64_t id, std::uint64_t offset, std::uint64_t length) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return 0;
  it->second->on_acked(offset, length);
  it->second->notifier.notify_all();
  return 0;
}

int ConnectionImpl::on_stream_close(std::int64_t id, std::optional<std::uint64_t> app_code) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return 0;
  auto stream = it->second;
  stream->closed = true;
  if (app_code && !stream->send_only && !stream->fin_received && !stream->reset_code) {
    stream->reset_code = app_code;
  }
  // A stream closing with a code while our sending side was unfinished: the peer stopped it.
  bool send_unfinished = !stream->fin_sent || stream->acked < stream->written;
  if (app_code && !stream->receive_only && !stream->local_reset_code &&
      (stream->peer_stopped || send_unfinished)) {
    stream->peer_stopped = true;
    stream->stop_code = app_code;
  }
  streams_.erase(it);
  stream->notifier.notify_all();
  if (!ngtcp2_conn_is_local_stream(conn_, id)) credit_remote_stream(*stream);
  return 0;
}

// Returns the slot of a finished remote stream to the peer. ngtcp2 0.12.1 never closes a remote
// unidirectional stream (fixed upstream in 0.14.0, commit 1d591bde), so for those we do it when
// the last byte arrived or the stream was reset, and `credited` keeps a later close from doing
// it twice.
void ConnectionImpl::credit_remote_stream(StreamState& stream) {
  if (stream.credited) return;
  stream.credited = true;
  if (is_bidi(stream.id)) {
    ngtcp2_conn_extend_max_streams_bidi(conn_, 1);
  } else {
    ngtcp2_conn_extend_max_streams_uni(conn_, 1);
  }
}

int ConnectionImpl::on_stream_reset(std::int64_t id, std::uint64_t app_code) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return 0;
  it->second->reset_code = app_code;
  // Unread bytes are discarded (RFC 9000 3.2 allows it), so their connection credit goes back.
  std::size_t unread = it->second->drop_received();
  if (unread > 0) ngtcp2_conn_extend_max_offset(conn_, unread);
  it->second->notifier.notify_all();
  if (it->second->receive_only) {
    credit_remote_stream(*it->second);
    streams_.erase(it);  // as for a FIN: nothing more will arrive on it
  }
  return 0;
}

// ngtcp2 0.12 calls this when *we* stop reading (Stream::stop, already recorded), not when the
// peer sends STOP_SENDING.
int ConnectionImpl::on_stream_stop_sending(std::int64_t id, std::uint64_t) {
  auto it = streams_.find(id);
  if (it != streams_.end()) it->second->notifier.notify_all();
  return 0;
}

int ConnectionImpl::on_extend_stream_data(std::int64_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return 0;
  it->second->blocked = false;
  queue_send(*it->second);
  return 0;
}

int ConnectionImpl::on_new_connection_id(ngtcp2_cid* cid, std::uint8_t* token,
                                         std::size_t length) {
  cid->datalen = length;
  gnutls_rnd(GNUTLS_RND_NONCE, cid->data, length);
  const auto& secret = endpoint_->reset_secret();
  if (ngtcp2_crypto_generate_stateless_reset_token(token, secret.data(), secret.size(), cid) !=
      0) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  source_ids_.emplace_back(cid->data, cid->data + length);
  endpoint_->register_cid(source_ids_.back(), shared_from_this());
  return 0;
}

int ConnectionImpl::on_remove_connection_id(const ngtcp2_cid* cid) {
  Bytes id(cid->data, cid->data + cid->datalen);
  endpoint_->unregister_cid(id);
  std::erase(source_ids_, id);
  return 0;
}

void ConnectionImpl::wake_all() {
  events_.notify_all();
  for (auto& [id, stream] : streams_) stream->notifier.notify_all();
}

}  // namespace p2panda::net
