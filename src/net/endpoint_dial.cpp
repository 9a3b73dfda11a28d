// EndpointImpl::connect_any: one peer, several addresses, dialled staggered.
//
// Why: a peer's addresses come from mDNS, bootstrap lists and gossip, and some of them are stale
// or unroutable from here (another LAN's address, a host that is gone, a firewall that drops).
// An address that answers nothing costs the whole handshake timeout (10 s), and dialled one by
// one every sync or gossip dial to that peer waited that long before trying the address that
// works. As Happy Eyeballs does for TCP (RFC 8305 section 5), the next address is dialled once
// the previous one has had `dial_stagger` (250 ms) to answer, or at once when it failed; the
// first handshake to complete wins and the others are closed. A peer whose first address works
// costs one handshake as before.
#include <algorithm>

#include "net/endpoint_impl.hpp"

namespace p2panda::net {
namespace {

// What connect_any waits on: any attempt's handshake ending, or the stagger timer.
struct DialRace {
  explicit DialRace(asio::io_context& io) : timer(io) {}
  Notifier changed;
  asio::steady_timer timer;
};

Awaitable<void> watch(std::shared_ptr<ConnectionImpl> attempt, std::shared_ptr<DialRace> race) {
  while (attempt->alive() && !attempt->handshake_done()) co_await attempt->events().wait();
  race->changed.notify_all();
}

}  // namespace

Awaitable<Result<Connection>> EndpointImpl::connect_any(std::vector<SocketAddress> addresses,
                                                        PublicKey expected, Bytes alpn) {
  if (!io_.get_executor().running_in_this_thread()) {
    co_return fail(Errc::InvalidArgument, "connect() must run on the endpoint's executor");
  }
  if (addresses.empty()) co_return fail(Errc::InvalidArgument, "no address to dial");
  if (addresses.size() == 1) co_return co_await connect(addresses[0], expected, alpn, {});
  if (auto existing = reusable(expected, alpn)) {
    // Shares a handshake that another caller started; if it fails (it may have dialled other
    // addresses than ours), ours are still worth trying.
    auto shared = co_await await_handshake(std::move(existing));
    if (shared) co_return shared;
  }

  auto race = std::make_shared<DialRace>(io_);
  std::vector<std::shared_ptr<ConnectionImpl>> attempts;  // in address order
  std::optional<Error> last;                               // of the attempt that failed last
  std::size_t next = 0;
  auto next_due = std::chrono::steady_clock::now();
  // At the connection limit with attempts of ours in flight: the next address waits for one of
  // them to end rather than failing (and with it every address after it).
  bool limited = false;
  while (true) {
    // Address order breaks ties: an earlier address that completed wins over a later one.
    const auto winner = std::find_if(attempts.begin(), attempts.end(), [](const auto& attempt) {
      return attempt->alive() && attempt->handshake_done();
    });
    if (winner != attempts.end()) {
      auto connection = *winner;
      // Attempts still handshaking are closed. One that completed too is left open: another
      // caller may already have taken it (reuse), and later dials will reuse it.
      for (const auto& attempt : attempts) {
        if (attempt != connection && !attempt->handshake_done()) attempt->supersede();
      }
      race->timer.cancel();
      co_return Connection(std::move(connection));
    }
    // A failure (an ICMP refusal, a rejected handshake) starts the next address at once.
    const bool failed = std::erase_if(attempts, [&](const auto& attempt) {
                          if (attempt->alive()) return false;
                          last = attempt->error();
                          return true;
                        }) > 0;
    if (failed) limited = false;  // a slot is free again
    const auto now = std::chrono::steady_clock::now();
    if (next < addresses.size() && !limited && (attempts.empty() || failed || now >= next_due)) {
      auto dialled = dial(addresses[next], expected, alpn);
      if (!dialled && dialled.error().code() == Errc::TooManyConnections && !attempts.empty()) {
        limited = true;
        continue;
      }
      ++next;
      if (!dialled) {
        last = std::move(dialled).error();
        continue;  // an address we cannot dial (family not bound, a limit): the next one now
      }
      attempts.push_back(*dialled);
      asio::co_spawn(io_, watch(std::move(*dialled), race), asio::detached);
      next_due = now + config_.transport.dial_stagger;
      continue;
    }
    if (attempts.empty()) {
      race->timer.cancel();
      co_return Unexpected{std::move(*last)};
    }
    if (next < addresses.size() && !limited) {
      race->timer.expires_at(next_due);  // cancels the previous wait, if any
      race->timer.async_wait([race](std::error_code error) {
        if (!error) race->changed.notify_all();
      });
    }
    co_await race->changed.wait();
  }
}

}  // namespace p2panda::net
