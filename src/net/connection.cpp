#include "net/connection.hpp"

#include "net/connection_impl.hpp"

namespace p2panda::net {
namespace {

Result<void> check_thread(const asio::any_io_executor& executor) {
  if (!runs_here(executor)) return fail(Errc::InvalidArgument, "must run on the endpoint's executor");
  return {};
}

}  // namespace

Connection::Connection(std::shared_ptr<ConnectionImpl> impl) : impl_(std::move(impl)) {}

const PublicKey& Connection::remote_id() const { return impl_->remote_id(); }
const Bytes& Connection::alpn() const { return impl_->alpn(); }
SocketAddress Connection::remote_address() const { return impl_->remote_address(); }

namespace {

Awaitable<Result<Stream>> open_stream(std::shared_ptr<ConnectionImpl> impl, bool bidi) {
  auto executor = co_await asio::this_coro::executor;
  auto ok = check_thread(executor);
  if (!ok) co_return Unexpected{std::move(ok).error()};
  for (;;) {
    auto opened = impl->open_stream(bidi);
    if (!opened) co_return Unexpected{std::move(opened).error()};
    if (*opened) co_return Stream(impl, std::move(*opened));
    co_await impl->events().wait();  // the peer's stream limit: wait for MAX_STREAMS
  }
}

Awaitable<Result<Stream>> accept_stream(std::shared_ptr<ConnectionImpl> impl, bool bidi) {
  auto executor = co_await asio::this_coro::executor;
  auto ok = check_thread(executor);
  if (!ok) co_return Unexpected{std::move(ok).error()};
  for (;;) {
    if (auto stream = impl->pop_incoming(bidi)) co_return Stream(impl, std::move(stream));
    if (!impl->alive()) co_return Unexpected{impl->error()};
    co_await impl->events().wait();
  }
}

}  // namespace

Awaitable<Result<Stream>> Connection::open_bi() { return open_stream(impl_, true); }
Awaitable<Result<Stream>> Connection::accept_bi() { return accept_stream(impl_, true); }
Awaitable<Result<Stream>> Connection::open_uni() { return open_stream(impl_, false); }
Awaitable<Result<Stream>> Connection::accept_uni() { return accept_stream(impl_, false); }

void Connection::close(std::uint64_t code, std::string_view reason) { impl_->close(code, reason); }

Awaitable<CloseInfo> Connection::closed() {
  while (impl_->alive()) co_await impl_->events().wait();
  co_return *impl_->close_info();
}

std::optional<CloseInfo> Connection::close_info() const { return impl_->close_info(); }

}  // namespace p2panda::net
