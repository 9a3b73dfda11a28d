// A peer on the simulated network that speaks the sync protocol by hand, so that a test can stop
// between the steps of a handshake (handshake_drop_test.cpp, replace_closing_test.cpp).
#pragma once

#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <future>
#include <optional>
#include <thread>

#include "net/sim_transport.hpp"
#include "net/transport.hpp"
#include "node_fixture.hpp"
#include "sync/messages.hpp"

namespace p2panda::test {

// A peer on `nodes`' simulated network, with a thread of its own that runs its coroutines (which
// may block it: nothing else runs there). Call stop() before the locals its coroutines use go.
class RawPeer {
 public:
  explicit RawPeer(Nodes& nodes, const PrivateKey& key = PrivateKey::generate())
      : transport_(nodes.hub()->add(key, io_.get_executor())), runner_([this] { io_.run(); }) {}
  RawPeer(const RawPeer&) = delete;
  RawPeer& operator=(const RawPeer&) = delete;
  ~RawPeer() { stop(); }

  net::SimTransport& transport() { return *transport_; }
  template <class T>
  std::future<T> spawn(net::Awaitable<T> coroutine) {
    return asio::co_spawn(io_, std::move(coroutine), asio::use_future);
  }
  // Ends the thread once what runs there returns; coroutines still waiting never resume.
  void stop() {
    io_.stop();
    if (runner_.joinable()) runner_.join();
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::shared_ptr<net::SimTransport> transport_;
  std::thread runner_;
};

// A stream of `topic` on `node`, held so that the node follows the topic.
inline std::optional<Stream<std::string>> hold_stream(Node& node, const Topic& topic) {
  auto opened = node.stream_blocking<std::string>(topic);
  if (!opened) return std::nullopt;
  return std::move(*opened);
}

// Connects `raw` to `node` on the log sync ALPN.
inline net::Awaitable<Result<net::ConnectionHandle>> connect_sync(net::Transport& raw, Node& node) {
  auto connecting =
      raw.connect(net::PeerAddress{node.id(), {}}, protocol_alpn("p2panda/log_sync/v1", node.network_id()));
  co_return co_await std::move(connecting);
}

// The handshake's first half as its initiator: opens a stream, names `topic`, reads the Done.
inline net::Awaitable<Result<net::StreamHandle>> name_topic(net::ConnectionHandle connection,
                                                            const Topic& topic) {
  auto opening = connection->open_bi();
  auto stream = co_await std::move(opening);
  if (!stream) co_return Unexpected{stream.error()};
  const Bytes hello = sync::encode_topic_handshake(sync::HandshakeTopic{topic});
  auto sending = net::write_frame(**stream, hello);
  if (auto sent = co_await std::move(sending); !sent) co_return Unexpected{sent.error()};
  auto replying = net::read_frame(**stream, 1024);
  auto reply = co_await std::move(replying);
  if (!reply) co_return Unexpected{reply.error()};
  if (!*reply) co_return fail(Errc::HandshakeRejected, "no HandshakeDone");
  co_return *stream;
}

// The second half: our Done. Named bytes: write_frame keeps a view of them until awaited.
inline net::Awaitable<Result<void>> send_done(net::TransportStream& stream) {
  const Bytes done = sync::encode_topic_handshake(sync::HandshakeDone{});
  auto finishing = net::write_frame(stream, done);
  co_return co_await std::move(finishing);
}

}  // namespace p2panda::test
