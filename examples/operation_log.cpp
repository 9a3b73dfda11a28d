// A tour of the core data model: one author's append-only log in a topic. Builds three
// operations, checks each against the ingest rules, prunes the log, and shows that tampering is
// caught. Run it with `./run demo`.
#include <p2panda/extensions.hpp>

#include <cstdio>
#include <string>
#include <vector>

using namespace p2panda;

namespace {

void show(const char* label, const Operation& operation) {
  const auto extensions = node_extensions(operation.header());
  std::printf("%-8s seq %u  id %s  %zu header bytes, %s%s\n", label,
              operation.seq_num().value(), operation.id().to_hex().substr(0, 16).c_str(),
              operation.header_bytes().size(),
              operation.body() ? (std::to_string(operation.body()->size()) + " body bytes").c_str()
                               : "no body",
              extensions && extensions->prune ? ", prunes the log below it" : "");
}

// The ingest rule: a valid operation that follows the latest one in the log (or prunes it).
Result<void> check(const Operation* latest, const Operation& operation, const Topic& topic) {
  if (auto valid = validate_operation(operation); !valid) return valid;
  if (auto in_topic = validate_topic(operation.header(), topic); !in_topic) return in_topic;
  const bool prune = node_extensions(operation.header())->prune;
  return validate_prunable_backlink(latest, operation.header(), prune);
}

Body text_body(const std::string& text) {
  // Application messages are CBOR; a short (< 24 bytes) text string is one head byte + UTF-8.
  Bytes bytes{static_cast<std::uint8_t>(0x60 | text.size())};
  bytes.insert(bytes.end(), text.begin(), text.end());
  return Body(std::move(bytes));
}

}  // namespace

int main() {
  const PrivateKey key = PrivateKey::generate();
  const Topic topic = Topic::random();
  std::printf("author   %s\ntopic    %s\nlog id   %s (BLAKE3 of the topic)\n\n",
              key.public_key().to_hex().c_str(), topic.to_hex().c_str(),
              LogId::from_topic(topic).to_hex().c_str());

  std::vector<Operation> log;
  const char* messages[] = {"Hello, Panda!", "Hello again", "Third time"};
  for (const char* message : messages) {
    const Operation* latest = log.empty() ? nullptr : &log.back();
    Operation operation = create_node_operation(
        key, {.topic = topic,
              .seq_num = SeqNum(static_cast<std::uint32_t>(log.size())),
              .backlink = latest ? std::optional<Hash>(latest->id()) : std::nullopt,
              .timestamp = Timestamp::now(),
              .prune = false,
              .body = text_body(message)});
    if (auto ok = check(latest, operation, topic); !ok) {
      std::printf("rejected: %s\n", ok.error().to_string().c_str());
      return 1;
    }
    show("append", operation);
    log.push_back(std::move(operation));
  }

  // A prune operation at seq 3 lets every peer delete seq 0..2; newcomers accept it without
  // the entries below.
  const Operation prune = create_node_operation(key, {.topic = topic,
                                                      .seq_num = SeqNum(3),
                                                      .backlink = log.back().id(),
                                                      .timestamp = Timestamp::now(),
                                                      .prune = true,
                                                      .body = text_body("snapshot")});
  if (auto ok = check(nullptr, prune, topic); !ok) {
    std::printf("rejected: %s\n", ok.error().to_string().c_str());
    return 1;
  }
  show("prune", prune);

  // Tampering: change one body byte and the payload hash no longer matches.
  Bytes forged = log[1].body()->bytes();
  forged.back() ^= 0x20;
  auto tampered = Operation::decode(log[1].header_bytes(), Body(forged));
  std::printf("\ntampered body: %s\n", validate_operation(*tampered).error().to_string().c_str());

  // Forking: a second seq 2 that links to seq 0 instead of the stored seq 1 is refused.
  const Operation fork = create_node_operation(key, {.topic = topic,
                                                     .seq_num = SeqNum(2),
                                                     .backlink = log[0].id(),
                                                     .timestamp = Timestamp::now(),
                                                     .prune = false,
                                                     .body = text_body("fork")});
  std::printf("fork at seq 2: %s\n", check(&log[1], fork, topic).error().to_string().c_str());

  // Wrong topic: the log id in the extensions says where the operation belongs.
  std::printf("other topic:   %s\n",
              validate_topic(log[0].header(), Topic::random()).error().to_string().c_str());
  return 0;
}
