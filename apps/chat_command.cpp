// `p2panda chat --topic NAME`: an interactive terminal chat on one topic stream.
//
// Each line typed is published as a {"nick", "text"} message (CBOR through nlohmann, so any
// p2panda app with the same struct reads it). The screen shows messages, the history the database
// (or a peer) already holds, a progress bar while a sync session catches up, and peers joining
// and leaving (a peer joins when its sync session starts and leaves when it ends). Peers are found
// by mDNS with no flags; --bootstrap names one directly. Commands: /nick NAME, /peers, /quit.
//
// Threads: main reads stdin and publishes (the blocking API); one thread prints events.
#include <atomic>
#include <csignal>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <p2panda/node.hpp>

#include "chat_screen.hpp"
#include "commands.hpp"
#include "net_args.hpp"

namespace p2panda::apps {

struct ChatMessage {
  std::string nick;
  std::string text;
};
void to_json(nlohmann::json& json, const ChatMessage& message) {
  json = nlohmann::json{{"nick", message.nick}, {"text", message.text}};
}
void from_json(const nlohmann::json& json, ChatMessage& message) {
  json.at("nick").get_to(message.nick);
  json.at("text").get_to(message.text);
}

namespace {

using namespace std::chrono_literals;

struct ChatOptions {
  std::string topic;
  std::string nick;
  std::string db;
  std::string key_file;
  std::string bind = "127.0.0.1:0";
  std::vector<std::string> bootstrap;
  std::string mdns = "active";
};

std::atomic<bool> interrupted{false};
void on_interrupt(int) { interrupted = true; }

std::string clock_time(Timestamp timestamp) {
  const std::time_t seconds = static_cast<std::time_t>(timestamp.value() / 1'000'000);
  std::tm local{};
  localtime_r(&seconds, &local);
  char text[16];
  std::strftime(text, sizeof text, "%H:%M", &local);
  return text;
}

// Prints what the subscription yields until `stop` is set or the node is gone.
class EventPrinter {
 public:
  EventPrinter(ChatScreen& screen, Subscription<ChatMessage> subscription)
      : screen_(screen), subscription_(std::move(subscription)) {}

  void run(const std::atomic<bool>& stop) {
    while (!stop) {
      auto event = subscription_.next(200ms);
      if (!event) return;  // NodeShutDown
      if (*event) std::visit([this](auto& e) { on(e); }, **event);
    }
  }

  std::vector<NodeId> peers() const {
    std::lock_guard lock(mutex_);
    std::vector<NodeId> out;
    for (const auto& [peer, sessions] : sessions_) out.push_back(peer);
    return out;
  }

 private:
  void on(Processed<ChatMessage>& processed) {
    screen_.message(clock_time(processed.operation.timestamp), processed.message.nick,
                    processed.message.text);
    auto* from = std::get_if<FromSyncSession>(&processed.source);
    if (from && from->phase == SessionPhase::Sync) advance(from->session_id);
  }
  void on(SyncStarted& started) {
    bool joined = false;
    {
      std::lock_guard lock(mutex_);
      joined = sessions_[started.remote]++ == 0;
      if (started.incoming_operations > 0) {
        progress_[started.session_id] = Progress{started.remote, 0, started.incoming_operations,
                                                 started.incoming_bytes};
      }
    }
    if (joined) screen_.notice("peer " + started.remote.to_hex().substr(0, 8) + " joined");
    if (started.incoming_operations > 0) {
      screen_.progress(started.remote.to_hex().substr(0, 8), 0, started.incoming_operations,
                       started.incoming_bytes);
    }
  }
  void on(SyncEnded& ended) {
    bool left = false;
    {
      std::lock_guard lock(mutex_);
      progress_.erase(ended.session_id);
      auto found = sessions_.find(ended.remote);
      if (found != sessions_.end() && --found->second == 0) {
        sessions_.erase(found);
        left = true;
      }
    }
    const std::string peer = ended.remote.to_hex().substr(0, 8);
    if (ended.received_operations > 0 || ended.sent_operations > 0) {
      screen_.notice("synced with " + peer + ": received " +
                     std::to_string(ended.received_operations) + " messages (" +
                     std::to_string(ended.received_bytes) + " bytes), sent " +
                     std::to_string(ended.sent_operations));
    }
    if (left) {
      screen_.notice("peer " + peer + " left" +
                     (ended.error ? " (" + ended.error->to_string() + ")" : ""));
    }
  }
  void on(ReplayStarted& started) {
    if (started.total_operations > 0) {
      screen_.notice("history: " + std::to_string(started.total_operations) + " messages");
    }
  }
  void on(DecodeFailed& failed) {
    screen_.notice("a message from " + failed.operation.author.to_hex().substr(0, 8) +
                   " is not a chat message");
  }
  void on(ProcessingFailed& failed) {
    screen_.notice("refused an operation: " + failed.error.to_string());
  }
  template <class Other>
  void on(Other&) {}

  void advance(std::uint64_t session) {
    std::unique_lock lock(mutex_);
    auto found = progress_.find(session);
    if (found == progress_.end()) return;
    Progress& p = found->second;
    ++p.done;
    const Progress copy = p;
    if (p.done >= p.total) progress_.erase(found);
    lock.unlock();
    screen_.progress(copy.remote.to_hex().substr(0, 8), copy.done, copy.total, copy.bytes);
  }

  struct Progress {
    NodeId remote;
    std::uint64_t done = 0;
    std::uint64_t total = 0;
    std::uint64_t bytes = 0;
  };
  ChatScreen& screen_;
  Subscription<ChatMessage> subscription_;
  mutable std::mutex mutex_;
  std::map<NodeId, int> sessions_;  // running sessions per peer
  std::map<std::uint64_t, Progress> progress_;
};

Result<Node> spawn_chat_node(const ChatOptions& options) {
  NodeBuilder builder = p2panda::builder();
  if (!options.key_file.empty()) {
    auto key = load_or_create_key(options.key_file);
    if (!key) return Unexpected{key.error()};
    builder.private_key(*key);
  }
  if (!options.db.empty()) builder.database_url(options.db);
  auto bind = parse_host_port(options.bind);
  if (!bind) return Unexpected{bind.error()};
  builder.bind_v4(bind->host, bind->port);
  for (const auto& text : options.bootstrap) {
    auto peer = parse_peer(text);
    if (!peer) return Unexpected{peer.error()};
    builder.bootstrap(peer->id, {peer->address.to_string()});
  }
  builder.mdns_mode(options.mdns == "active"    ? MdnsMode::Active
                    : options.mdns == "passive" ? MdnsMode::Passive
                                                : MdnsMode::Disabled);
  return builder.spawn_blocking();
}

int run_chat(const ChatOptions& options) {
  auto node = spawn_chat_node(options);
  if (!node) return usage_error(node.error().to_string());
  const Topic topic = parse_topic(options.topic);
  // History first: everything the database holds, under a cursor of its own so that showing it
  // again on every start never moves the topic's main cursor.
  StreamOptions stream_options;
  stream_options.from = from::Start{};
  stream_options.cursor_name = "chat-history";
  auto stream = node->stream_blocking<ChatMessage>(topic, stream_options);
  if (!stream) return usage_error(stream.error().to_string());

  std::string nick = options.nick.empty() ? "panda-" + node->id().to_hex().substr(0, 4)
                                          : options.nick;
  ChatScreen screen(isatty(STDOUT_FILENO) == 1);
  screen.notice("you are " + nick + " (" + node->id().to_hex().substr(0, 8) + ") in \"" +
                options.topic + "\"; /nick NAME, /peers, /quit");
  for (const auto& address : node->addresses()) {
    screen.notice("others can reach you as " + node->id().to_hex() + "@" + address);
  }

  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  std::atomic<bool> stop{false};
  EventPrinter printer(screen, stream->subscription);
  std::thread printing([&] { printer.run(stop); });

  std::string line;
  while (!interrupted && std::getline(std::cin, line)) {
    const std::string text(trim(line));
    if (text.empty()) continue;
    if (text == "/quit") break;
    if (text == "/peers") {
      const auto peers = printer.peers();
      screen.notice(std::to_string(peers.size()) + " peer(s)");
      for (const auto& peer : peers) screen.notice("  " + peer.to_hex());
      continue;
    }
    if (text.rfind("/nick ", 0) == 0) {
      nick = std::string(trim(text.substr(6)));
      screen.notice("you are " + nick);
      continue;
    }
    auto id = stream->publisher.publish_blocking(ChatMessage{nick, text});
    if (!id) screen.notice("not sent: " + id.error().to_string());
  }
  stop = true;
  printing.join();
  node->shutdown();
  return kExitOk;
}

}  // namespace

void add_chat_command(CLI::App& app, Runner& runner) {
  auto options = std::make_shared<ChatOptions>();
  CLI::App* chat = app.add_subcommand("chat", "Chat on a topic with everyone who follows it");
  chat->add_option("--topic", options->topic, "Topic: a name (hashed) or 64 hex characters")
      ->required();
  chat->add_option("--nick", options->nick, "Your name in the chat (default panda-<id>)");
  chat->add_option("--db", options->db, "SQLite file to keep the history in (default: memory)");
  chat->add_option("--key-file", options->key_file, "Identity key file (created if missing)");
  chat->add_option("--bind", options->bind, "HOST:PORT to listen on (default 127.0.0.1:0)");
  chat->add_option("--bootstrap", options->bootstrap, "ID@HOST:PORT of a peer (repeatable)");
  chat->add_option("--mdns", options->mdns, "off, passive or active (default)")
      ->check(CLI::IsMember({"off", "passive", "active"}));
  chat->callback([options, &runner] { runner = [options] { return run_chat(*options); }; });
}

}  // namespace p2panda::apps
