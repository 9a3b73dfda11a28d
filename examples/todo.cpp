// A to-do list CRDT on a topic stream, as p2panda's todo example: items live in a two-phase set
// (an item once removed stays removed) and each item's fields are last-writer-wins registers,
// ordered by (timestamp, author). Two nodes edit concurrently; once they have synced, both hold
// the same list, whatever order the operations arrived in.
#include <iostream>
#include <map>
#include <set>

#include <asio/io_context.hpp>

#include <p2panda/node.hpp>

struct TodoEvent {
  std::string kind;  // "add", "done", "remove"
  std::string item;  // the item's id
  std::string title; // add only
};

void to_json(nlohmann::json& json, const TodoEvent& event) {
  json = {{"kind", event.kind}, {"item", event.item}, {"title", event.title}};
}
void from_json(const nlohmann::json& json, TodoEvent& event) {
  event = {json.at("kind").get<std::string>(), json.at("item").get<std::string>(),
           json.at("title").get<std::string>()};
}

class TodoList {
 public:
  void apply(const p2panda::Processed<TodoEvent>& processed) {
    const auto& event = processed.message;
    const Stamp stamp{processed.operation.timestamp.value(), processed.operation.author.to_hex()};
    if (event.kind == "remove") {
      removed_.insert(event.item);
      return;
    }
    auto& item = items_[event.item];
    if (event.kind == "add" && item.title_stamp < stamp) {
      item.title = event.title;
      item.title_stamp = stamp;
    }
    if (event.kind == "done" && item.done_stamp < stamp) {
      item.done = true;
      item.done_stamp = stamp;
    }
  }

  std::string render() const {
    std::string out;
    for (const auto& [id, item] : items_) {
      if (removed_.contains(id)) continue;
      out += (item.done ? "[x] " : "[ ] ") + item.title + "\n";
    }
    return out;
  }

 private:
  using Stamp = std::pair<std::uint64_t, std::string>;
  struct Item {
    std::string title;
    bool done = false;
    Stamp title_stamp{0, ""};
    Stamp done_stamp{0, ""};
  };
  std::map<std::string, Item> items_;
  std::set<std::string> removed_;
};

using Todos = p2panda::Stream<TodoEvent>;

asio::awaitable<bool> apply_until(Todos& todos, TodoList& list, std::size_t count) {
  for (std::size_t applied = 0; applied < count;) {
    auto event = co_await todos.subscription.next();
    if (!event) co_return false;
    if (auto* processed = std::get_if<p2panda::Processed<TodoEvent>>(&*event)) {
      list.apply(*processed);
      ++applied;
    }
  }
  co_return true;
}

asio::awaitable<int> run() {
  auto alice = co_await p2panda::spawn();
  auto bob = co_await p2panda::spawn();
  if (!alice || !bob) co_return 1;
  const auto topic = p2panda::Topic::random();
  auto on_alice = co_await alice->stream<TodoEvent>(topic);
  auto on_bob = co_await bob->stream<TodoEvent>(topic);
  if (!on_alice || !on_bob) co_return 1;

  // Both edit offline first.
  for (const auto& event : {TodoEvent{"add", "milk", "buy milk"},
                            TodoEvent{"add", "bamboo", "order bamboo"}}) {
    auto published = co_await on_alice->publisher.publish(event);
    if (!published) co_return 1;
  }
  for (const auto& event : {TodoEvent{"add", "fix", "fix the bike"}, TodoEvent{"done", "milk", ""},
                            TodoEvent{"remove", "bamboo", ""}}) {
    auto published = co_await on_bob->publisher.publish(event);
    if (!published) co_return 1;
  }
  // Then they meet: everything syncs, in whatever order.
  if (!bob->insert_bootstrap(alice->id(), alice->addresses())) co_return 1;

  TodoList alice_list, bob_list;
  const bool alice_done = co_await apply_until(*on_alice, alice_list, 5);
  const bool bob_done = co_await apply_until(*on_bob, bob_list, 5);
  if (!alice_done || !bob_done) co_return 1;
  std::cout << "alice sees:\n" << alice_list.render() << "bob sees:\n" << bob_list.render();
  const bool converged = alice_list.render() == bob_list.render();
  std::cout << (converged ? "converged\n" : "DIVERGED\n");
  co_return converged ? 0 : 1;
}

int main() {
  asio::io_context io;
  int status = 1;
  asio::co_spawn(io, run(), [&](std::exception_ptr, int result) { status = result; });
  io.run();
  return status;
}
