// The seed's "Topic stream" example: publish into a topic and react to what the subscription
// yields. Two nodes on this machine, so there is something to sync: one publishes while the
// other is not yet known to it, then they meet; the second prints the sync and the message.
#include <iostream>

#include <asio/io_context.hpp>

#include <p2panda/node.hpp>

using p2panda::Processed;
using p2panda::SyncStarted;

asio::awaitable<int> run() {
  const auto chat_id = p2panda::Topic::random();

  // Spawn a default, in-memory node (QUIC on 127.0.0.1).
  auto alice = co_await p2panda::spawn();
  auto bob = co_await p2panda::spawn();
  if (!alice || !bob) {
    std::cerr << "spawn failed: " << (alice ? bob.error() : alice.error()).to_string() << "\n";
    co_return 1;
  }

  // Publish and subscribe topic stream with sync.
  auto alice_chat = co_await alice->stream<std::string>(chat_id);
  auto bob_chat = co_await bob->stream<std::string>(chat_id);
  if (!alice_chat || !bob_chat) co_return 1;
  auto id = co_await alice_chat->publisher.publish("Hello, Panda!");
  if (!id) co_return 1;
  std::cout << "alice published " << id->to_hex() << " while alone\n";

  // Bob learns where Alice is (mDNS or a bootstrap node would tell him).
  if (!bob->insert_bootstrap(alice->id(), alice->addresses())) co_return 1;

  for (;;) {
    auto event = co_await bob_chat->subscription.next();
    if (!event) co_return 1;
    // React to system events.
    if (auto* sync = std::get_if<SyncStarted>(&*event)) {
      std::cout << "syncing " << sync->incoming_bytes << " bytes from "
                << sync->remote.to_hex().substr(0, 16) << "...\n";
    }
    // Handle application messages.
    if (auto* processed = std::get_if<Processed<std::string>>(&*event)) {
      std::cout << "[" << processed->operation.timestamp.value() << "]: received \""
                << processed->message << "\" from "
                << processed->operation.author.to_hex().substr(0, 16) << "...\n";
      co_return 0;
    }
  }
}

int main() {
  asio::io_context io;
  int status = 1;
  asio::co_spawn(io, run(), [&](std::exception_ptr, int result) { status = result; });
  io.run();
  return status;
}
