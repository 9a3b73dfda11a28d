// The blocking facade: the same API for plain threads, without coroutines. A writer thread
// publishes on one node while the main thread reads on another, with a timeout on every wait.
#include <iostream>
#include <thread>

#include <p2panda/node.hpp>

using namespace std::chrono_literals;

int main() {
  auto writer_node = p2panda::spawn_blocking();
  auto reader_node = p2panda::spawn_blocking();
  if (!writer_node || !reader_node) return 1;
  if (!reader_node->insert_bootstrap(writer_node->id(), writer_node->addresses())) return 1;

  const auto topic = p2panda::Topic::random();
  auto out = writer_node->stream_blocking<std::string>(topic);
  auto in = reader_node->stream_blocking<std::string>(topic);
  if (!out || !in) return 1;

  std::thread writer([&] {
    for (int i = 1; i <= 3; ++i) {
      auto id = out->publisher.publish_blocking("message " + std::to_string(i));
      if (!id) std::cerr << "publish failed: " << id.error().to_string() << "\n";
    }
  });

  int received = 0;
  while (received < 3) {
    auto event = in->subscription.next(5s);
    if (!event) {
      std::cerr << event.error().to_string() << "\n";
      break;
    }
    if (!*event) {
      std::cerr << "nothing within 5 s\n";
      break;
    }
    if (auto* processed = std::get_if<p2panda::Processed<std::string>>(&**event)) {
      std::cout << "received \"" << processed->message << "\"\n";
      ++received;
    }
  }
  writer.join();
  auto metrics = reader_node->metrics();
  std::cout << "reader: " << metrics.operations_ingested << " operations ingested in "
            << metrics.sync_sessions_started << " sync session(s)\n";
  return received == 3 ? 0 : 1;
}
