#include "net/connection.hpp"

#include "net/connection_impl.hpp"

namespace p2panda::net {
namespace {

Result<void> check_thread(const asio::any_io_executor& executor) {
  if (!runs_here(executor)) return fail(Errc::InvalidArgument, "must run on the endpoint's executor");
  return {};
}

}  // namespace

std::string CloseInfo::to_string() const {
  switch (kind) {
    case Kind::Local:
      return "closed locally with code " + std::to_string(code) + " (" + reason + ")";
    case Kind::Peer:
      return "closed by peer with code " + std::to_string(code) + " (" + reason + ")";
    case Kind::Transport:
      return "transport error " + std::to_string(code) + ": " + reason;
    case Kind::IdleTimeout:
      return "idle timeout: " + reason;
    case Kind::Endpoint:
      return "endpoint shut down";
  }
  return "closed";
}

Connection::Connection(std::shared_ptr<ConnectionImpl> impl) : impl_(std::move(impl)) {}

const PublicKey& Connection::remote_id() const { return impl_->remote_id(); }
const Bytes& Connection::alpn() const { return impl_->alpn(); }
SocketAddress Connection::remote_address() const { return impl_->remote_address(); }

Awaitable<Result<Stream>> Connection::open_bi() {
  auto executor = co_await asio::this_coro::executor;
  auto ok = check_thread(executor);
  if (!ok) co_return Unexpected{std::move(ok).error()};
  for (;;) {
    auto opened = impl_->open_bidi();
    if (!opened) co_return Unexpected{std::move(opened).error()};
    if (*opened) co_return Stream(impl_, std::move(*opened));
    co_await impl_->events().wait();
  }
}

Awaitable<Result<Stream>> Connection::accept_bi() {
  auto executor = co_await asio::this_coro::executor;
  auto ok = check_thread(executor);
  if (!ok) co_return Unexpected{std::move(ok).error()};
  for (;;) {
    if (auto stream = impl_->pop_incoming_bidi()) co_return Stream(impl_, std::move(stream));
    if (!impl_->alive()) co_return Unexpected{impl_->error()};
    co_await impl_->events().wait();
  }
}

void Connection::close(std::uint64_t code, std::string_view reason) { impl_->close(code, reason); }

Awaitable<CloseInfo> Connection::closed() {
  while (impl_->alive()) co_await impl_->events().wait();
  co_return *impl_->close_info();
}

std::optional<CloseInfo> Connection::close_info() const { return impl_->close_info(); }

}  // namespace p2panda::net
