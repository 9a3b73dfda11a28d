#include "sync_once.hpp"

#include <future>

#include "net/quic_transport.hpp"
#include "node/signal.hpp"
#include "store/sqlite_store.hpp"
#include "stream/ingest.hpp"
#include "sync/messages.hpp"

namespace p2panda::apps {
namespace {

using node::now_micros;
using Outcome = std::optional<Result<SyncOnceReport>>;  // co_spawn needs a default value

constexpr std::size_t kHandshakeLimit = 1024;
constexpr std::uint64_t kAbortCode = 3;  // what the node's SyncManager sends for a failure

// Shared by the session coroutine and its reader; lives on the transport's thread.
struct Driver {
  Driver(store::Store& s, net::Transport& t, SyncOnceRequest r)
      : store(s), transport(t), request(std::move(r)) {}
  store::Store& store;
  net::Transport& transport;
  SyncOnceRequest request;
  net::ConnectionHandle connection;
  net::StreamHandle stream;
  std::unique_ptr<sync::LogSyncSession> core;
  node::Signal wake;
  bool handshaken = false;
  bool done = false;
  SyncOnceReport report;
};

Outcome failed(Errc code, std::string message) { return Result<SyncOnceReport>(fail(code, message)); }

Outcome failed(const std::string& context, const Error& error) {
  return failed(error.code(), context + ": " + error.message());
}

// A peer that accepts the connection but never answers the topic handshake is cut off.
net::Awaitable<void> watchdog(std::shared_ptr<Driver> driver) {
  asio::steady_timer timer(co_await asio::this_coro::executor, driver->request.timeout);
  co_await timer.async_wait(net::use_tuple);
  if (!driver->handshaken && driver->stream) driver->stream->abort(kAbortCode);
}

net::Awaitable<void> read_loop(std::shared_ptr<Driver> driver) {
  const auto limit = sync::SessionConfig{}.max_message;
  while (!driver->done) {
    auto reading = net::read_frame(*driver->stream, limit);
    auto frame = co_await std::move(reading);
    if (driver->done) break;
    if (!frame) {
      driver->core->handle_closed(Unexpected{frame.error()}, now_micros());
    } else if (!*frame) {
      driver->core->handle_closed(Result<void>{}, now_micros());
    } else {
      driver->core->handle_message(**frame, now_micros());
    }
    driver->wake.notify_all();
    if (!frame || !*frame) break;
  }
}

// Validates and stores what arrived; returns the session's end, if it ended.
std::optional<Outcome> drain_events(Driver& driver) {
  while (auto event = driver.core->poll_event()) {
    if (auto* received = std::get_if<sync::OperationReceived>(&*event)) {
      auto result = driver.store.transact([&](store::StoreWriter& writer) {
        return stream::check_and_ingest(writer, received->operation, driver.request.topic, {});
      });
      if (!result) return failed("storing a received operation", result.error());
      if (std::holds_alternative<stream::Rejected>(result->outcome)) {
        ++driver.report.rejected;
      } else if (!std::holds_alternative<stream::AlreadyExists>(result->outcome) &&
                 !std::holds_alternative<stream::Obsolete>(result->outcome)) {
        ++driver.report.ingested;
      }
    } else if (auto* finished = std::get_if<sync::SessionFinished>(&*event)) {
      driver.report.metrics = finished->metrics;
      return Outcome(driver.report);
    } else if (auto* failure = std::get_if<sync::Failed>(&*event)) {
      return failed("the sync session failed", failure->error);
    }
  }
  return std::nullopt;
}

net::Awaitable<Outcome> handshake(std::shared_ptr<Driver> driver) {
  const auto& request = driver->request;
  auto address = net::parse_socket_address(request.peer.address.to_string());
  if (!address) co_return failed("peer address", address.error());
  net::PeerAddress peer{request.peer.id, {*address}};
  auto connecting =
      driver->transport.connect(peer, protocol_alpn("p2panda/log_sync/v1", request.network));
  auto connection = co_await std::move(connecting);
  if (!connection) co_return failed("cannot reach the peer", connection.error());
  driver->connection = *connection;
  auto opening = driver->connection->open_bi();
  auto stream = co_await std::move(opening);
  if (!stream) co_return failed("cannot open a stream", stream.error());
  driver->stream = *stream;
  auto watching = watchdog(driver);
  asio::co_spawn(driver->transport.executor(), std::move(watching), asio::detached);

  const Bytes hello = sync::encode_topic_handshake(sync::HandshakeTopic{request.topic});
  auto sending = net::write_frame(*driver->stream, hello);
  auto sent = co_await std::move(sending);
  if (!sent) co_return failed("topic handshake", sent.error());
  auto reading = net::read_frame(*driver->stream, kHandshakeLimit);
  auto reply = co_await std::move(reading);
  // The node aborts the stream (or ends it) for a topic it does not follow.
  if (!reply || !*reply) {
    co_return failed(Errc::HandshakeRejected,
                     "the peer refused topic " + request.topic.to_hex() +
                         " (it does not follow it, or did not answer in time)");
  }
  auto decoded = sync::decode_topic_handshake(**reply);
  if (!decoded || !std::holds_alternative<sync::HandshakeDone>(*decoded)) {
    co_return failed(Errc::SyncProtocolViolation, "expected the topic handshake's Done");
  }
  const Bytes done = sync::encode_topic_handshake(sync::HandshakeDone{});
  auto finishing = net::write_frame(*driver->stream, done);
  auto finished = co_await std::move(finishing);
  if (!finished) co_return failed("topic handshake", finished.error());
  driver->handshaken = true;
  co_return std::nullopt;
}

net::Awaitable<Outcome> run_session(std::shared_ptr<Driver> driver) {
  auto shaking = handshake(driver);
  auto refused = co_await std::move(shaking);
  if (refused) {
    if (driver->stream) driver->stream->abort(kAbortCode);
    co_return refused;
  }
  const auto timeout_us = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(driver->request.timeout).count());
  driver->core = std::make_unique<sync::LogSyncSession>(
      driver->store, driver->request.topic,
      sync::SessionConfig{.live_mode = false, .sync_timeout = timeout_us});
  (void)driver->core->start(now_micros());  // a failure shows up as a Failed event
  asio::co_spawn(driver->transport.executor(), read_loop(driver), asio::detached);
  auto& core = *driver->core;
  Outcome outcome;
  while (!outcome) {
    while (auto payload = core.poll_transmit()) {
      auto writing = net::write_frame(*driver->stream, *payload);
      auto written = co_await std::move(writing);
      if (!written) {
        core.handle_closed(Unexpected{written.error()}, now_micros());
        break;
      }
    }
    if (auto ended = drain_events(*driver)) {
      outcome = std::move(*ended);
      break;
    }
    auto deadline = core.next_deadline();
    auto waiting = driver->wake.wait_until(deadline ? node::from_micros(*deadline)
                                                    : node::Clock::time_point::max());
    co_await std::move(waiting);
    if (deadline && now_micros() >= *deadline) core.handle_timeout(now_micros());
  }
  driver->done = true;
  if (*outcome) {
    auto finishing = driver->stream->finish();
    (void)co_await std::move(finishing);
    driver->connection->close(0, "sync done");
  } else {
    driver->stream->abort(kAbortCode);
  }
  co_return outcome;
}

}  // namespace

Result<SyncOnceReport> sync_once(const SyncOnceRequest& request) {
  store::StoreOptions store_options;
  store_options.url = request.database_url;
  auto store = store::SqliteStore::open(store_options);
  if (!store) return Unexpected{std::move(store).error()};

  auto address = net::parse_socket_address(request.peer.address.to_string());
  if (!address) return Unexpected{std::move(address).error()};
  net::EndpointConfig endpoint;
  endpoint.key = request.key;
  // Any local address of the peer's family: we only dial.
  if (address->address().is_v6()) {
    endpoint.bind_v6 = net::SocketAddress(asio::ip::address_v6::any(), 0);
  } else {
    endpoint.bind_v4 = net::SocketAddress(asio::ip::address_v4::any(), 0);
  }
  endpoint.transport.handshake_timeout = request.timeout;
  auto transport = net::QuicTransport::bind(std::move(endpoint));
  if (!transport) return Unexpected{std::move(transport).error()};

  auto driver = std::make_shared<Driver>(**store, **transport, request);
  auto future = asio::co_spawn((*transport)->executor(), run_session(driver), asio::use_future);
  // Every wait inside is bounded by `timeout`; this is the last resort against a bug.
  const bool answered = future.wait_for(request.timeout * 3 + std::chrono::seconds(5)) ==
                        std::future_status::ready;
  Result<SyncOnceReport> result = fail(Errc::SyncTimeout, "the sync did not end in time");
  if (answered) {
    try {
      auto outcome = future.get();
      if (outcome) result = std::move(*outcome);
    } catch (const std::exception& error) {
      result = fail(Errc::Io, error.what());
    }
  }
  driver.reset();
  transport->reset();  // joins the endpoint thread; coroutines still parked there are destroyed
  (*store)->close();
  return result;
}

}  // namespace p2panda::apps
