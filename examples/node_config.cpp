// The seed's "Node configuration" example: a node with a persistent database, a bootstrap peer
// and a relay URL. Here the bootstrap peer is a second node on this machine, and the database a
// temporary file, so the example can also show what persistence buys: after a restart with the
// same key and database, the node still has its log and its stream cursor.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <asio/io_context.hpp>

#include <p2panda/node.hpp>

asio::awaitable<int> run(const std::string& database) {
  // A node helping to bootstrap the network for any topic (normally a well-known server).
  auto bootstrap = co_await p2panda::spawn();
  if (!bootstrap) co_return 1;

  const auto key = p2panda::PrivateKey::generate();
  const auto topic = p2panda::Topic::random();
  for (int run = 1; run <= 2; ++run) {
    // Check docs/node.md for every builder option.
    auto node = co_await p2panda::builder()
                    .private_key(key)
                    .database_url("sqlite:" + database)
                    .bootstrap(bootstrap->id(), bootstrap->addresses())
                    .relay_url("https://relay.example.org")  // kept for when relays exist
                    .spawn();
    if (!node) {
      std::cerr << node.error().to_string() << "\n";
      co_return 1;
    }
    auto notes = co_await node->stream<std::string>(topic);
    if (!notes) co_return 1;
    if (run == 1) {
      auto id = co_await notes->publisher.publish("written before the restart");
      if (!id) co_return 1;
      auto event = co_await notes->subscription.next();  // our own message, acked automatically
      if (!event) co_return 1;
      std::cout << "run 1: published and processed " << id->to_hex().substr(0, 16) << "...\n";
    } else {
      // Same key and database: the next publish continues our log at seq 1, and nothing is
      // replayed because the cursor remembers the ack.
      auto id = co_await notes->publisher.publish("written after the restart");
      if (!id) co_return 1;
      auto event = co_await notes->subscription.next();
      if (!event) co_return 1;
      auto* processed = std::get_if<p2panda::Processed<std::string>>(&*event);
      if (processed == nullptr) co_return 1;
      std::cout << "run 2: \"" << processed->message << "\" is seq "
                << processed->operation.seq.value() << " of our log\n";
      if (processed->operation.seq.value() != 1) co_return 1;
    }
    node->shutdown();
  }
  co_return 0;
}

int main() {
  auto database = (std::filesystem::temp_directory_path() /
                   ("p2panda-example-" + std::to_string(::getpid()) + ".sqlite"))
                      .string();
  asio::io_context io;
  int status = 1;
  asio::co_spawn(io, run(database), [&](std::exception_ptr, int result) { status = result; });
  io.run();
  for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(database + suffix);
  return status;
}
