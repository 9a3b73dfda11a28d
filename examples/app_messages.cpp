// The seed's "Application messages" example: any type with nlohmann-json to_json/from_json is a
// stream message, CBOR-encoded. CalendarMessage is written the way serde writes a Rust enum
// (externally tagged: {"Update": {"title": ...}} or "Delete"), so a Rust p2panda node reading
// the same topic decodes the same value from the same bytes.
#include <iomanip>
#include <iostream>

#include <asio/io_context.hpp>

#include <p2panda/node.hpp>

struct CalendarMessage {
  enum class Kind { Update, Delete } kind = Kind::Delete;
  std::string title;  // Update only
};

void to_json(nlohmann::json& json, const CalendarMessage& message) {
  if (message.kind == CalendarMessage::Kind::Update) {
    json = {{"Update", {{"title", message.title}}}};
  } else {
    json = "Delete";
  }
}

void from_json(const nlohmann::json& json, CalendarMessage& message) {
  if (json.is_string() && json.get<std::string>() == "Delete") {
    message = {CalendarMessage::Kind::Delete, {}};
  } else {
    message = {CalendarMessage::Kind::Update, json.at("Update").at("title").get<std::string>()};
  }
}

asio::awaitable<int> run() {
  auto node = co_await p2panda::spawn();
  if (!node) co_return 1;
  auto calendar = co_await node->stream<CalendarMessage>(p2panda::Topic::random());
  if (!calendar) co_return 1;

  CalendarMessage update{CalendarMessage::Kind::Update, "Panda meetup"};
  std::cout << "CBOR of the update:";
  for (auto byte : p2panda::Codec<CalendarMessage>::encode(update)) {
    std::cout << " " << std::hex << std::setw(2) << std::setfill('0') << int(byte);
  }
  std::cout << std::dec << "\n";
  // g++ 12: bind each co_await result to a local (docs/node.md, "Compiler notes").
  const CalendarMessage remove{};
  auto updated = co_await calendar->publisher.publish(update);
  auto removed = co_await calendar->publisher.publish(remove);
  if (!updated || !removed) co_return 1;

  for (int received = 0; received < 2;) {
    auto event = co_await calendar->subscription.next();
    if (!event) co_return 1;
    if (auto* processed = std::get_if<p2panda::Processed<CalendarMessage>>(&*event)) {
      ++received;
      if (processed->message.kind == CalendarMessage::Kind::Update) {
        std::cout << "update: " << processed->message.title << "\n";
      } else {
        std::cout << "delete\n";
      }
    }
  }
  co_return 0;
}

int main() {
  asio::io_context io;
  int status = 1;
  asio::co_spawn(io, run(), [&](std::exception_ptr, int result) { status = result; });
  io.run();
  return status;
}
