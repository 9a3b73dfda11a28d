// `p2panda chat --topic NAME`: an interactive terminal chat on a node. Each line typed is a
// message {"nick", "text"} (CBOR through nlohmann, Codec<T>); the history comes from the database
// (the topic replayed from the start), sync progress is a bar of operations and bytes, and peers
// joining and leaving are announced. Line-oriented on purpose: it works in any terminal and in
// tmux-driven tests. Threads: main reads stdin and watches for SIGINT/SIGTERM; one thread reads
// the subscription; output lines are serialised by a mutex.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <p2panda/node.hpp>

#include "commands.hpp"
#include "logging.hpp"
#include "net_args.hpp"

namespace p2panda::apps {

struct ChatMessage {
  std::string nick;
  std::string text;
};
void to_json(nlohmann::json& json, const ChatMessage& m) {
  json = {{"nick", m.nick}, {"text", m.text}};
}
void from_json(const nlohmann::json& json, ChatMessage& m) {
  json.at("nick").get_to(m.nick);
  json.at("text").get_to(m.text);
}

namespace {

using namespace std::chrono_literals;

struct ChatOptions {
  std::string topic;
  std::string nick;
  std::string db = ":memory:";
  std::string key_file;
  std::string bind = "127.0.0.1:0";
  std::vector<std::string> peers;
  std::string mdns = "active";
};

std::string clock_time(Timestamp timestamp) {
  const std::time_t seconds = static_cast<std::time_t>(timestamp.value() / 1'000'000);
  std::tm local{};
  ::localtime_r(&seconds, &local);
  char text[16];
  std::strftime(text, sizeof text, "%H:%M:%S", &local);
  return text;
}

std::string bar(std::uint64_t done, std::uint64_t total) {
  constexpr int kWidth = 20;
  const int filled = total == 0 ? kWidth : static_cast<int>(std::min(done, total) * kWidth / total);
  return "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "]";
}

// Prints chat events; tracks sync progress per session and peers per remote.
class ChatView {
 public:
  void line(const std::string& text) {
    std::lock_guard lock(mutex_);
    std::cout << text << '\n' << std::flush;
  }

  void on_event(const StreamEvent<ChatMessage>& event) {
    std::lock_guard lock(mutex_);
    if (auto* p = std::get_if<Processed<ChatMessage>>(&event)) {
      std::cout << "[" << clock_time(p->operation.timestamp) << "] " << p->message.nick << ": "
                << p->message.text << '\n';
      if (auto* sync = std::get_if<FromSyncSession>(&p->source)) progress(sync->session_id);
    } else if (auto* started = std::get_if<SyncStarted>(&event)) {
      auto& session = sessions_[started->session_id];
      session = {started->remote, started->incoming_operations, started->incoming_bytes, 0, -1};
      if (peers_[started->remote].insert(started->session_id).second &&
          peers_[started->remote].size() == 1) {
        std::cout << "-- " << short_id(started->remote) << " joined --\n";
      }
      if (session.total > 0) progress(started->session_id);
    } else if (auto* ended = std::get_if<SyncEnded>(&event)) {
      sessions_.erase(ended->session_id);
      if (ended->received_operations > 0 || ended->sent_operations > 0) {
        std::cout << "-- synced with " << short_id(ended->remote) << ": received "
                  << ended->received_operations << " (" << ended->received_bytes << " bytes), sent "
                  << ended->sent_operations << " (" << ended->sent_bytes << " bytes) --\n";
      }
      auto found = peers_.find(ended->remote);
      if (found != peers_.end() && found->second.erase(ended->session_id) &&
          found->second.empty()) {
        peers_.erase(found);
        std::cout << "-- " << short_id(ended->remote) << " left --\n";
      }
    } else if (auto* replay = std::get_if<ReplayStarted>(&event)) {
      if (replay->total_operations > 0) {
        std::cout << "-- history: " << replay->total_operations << " messages --\n";
      }
    } else if (auto* failed = std::get_if<DecodeFailed>(&event)) {
      std::cout << "-- a message that is not chat: " << failed->error.to_string() << " --\n";
    }
    std::cout << std::flush;
  }

 private:
  struct Progress {
    NodeId remote;
    std::uint64_t total = 0;
    std::uint64_t total_bytes = 0;
    std::uint64_t done = 0;
    int shown = -1;  // tenths last drawn
  };

  static std::string short_id(const NodeId& id) { return id.to_hex().substr(0, 8); }

  // Redraws a session's bar when it moved by a tenth, so a large sync prints about ten lines.
  void progress(std::uint64_t session_id) {
    auto found = sessions_.find(session_id);
    if (found == sessions_.end() || found->second.total == 0) return;
    auto& s = found->second;
    const bool counted = s.shown >= 0;
    if (counted) ++s.done;
    const int tenths = static_cast<int>(std::min(s.done, s.total) * 10 / s.total);
    if (tenths == s.shown) return;
    s.shown = tenths;
    std::cout << "-- sync " << short_id(s.remote) << " " << bar(s.done, s.total) << " " << s.done
              << "/" << s.total << " operations, " << s.total_bytes << " bytes --\n";
  }

  std::mutex mutex_;
  std::map<std::uint64_t, Progress> sessions_;
  std::map<NodeId, std::set<std::uint64_t>> peers_;
};

bool signalled(const sigset_t& signals) {
  timespec zero{0, 0};
  return ::sigtimedwait(&signals, nullptr, &zero) > 0;
}

int run_chat(const ChatOptions& options) {
  init_logging();
  const Topic topic = parse_topic(options.topic);
  auto bind = parse_host_port(options.bind);
  if (!bind) return usage_error(bind.error().to_string());
  std::vector<PeerArg> peers;
  for (const auto& text : options.peers) {
    auto peer = parse_peer(text);
    if (!peer) return usage_error(peer.error().to_string());
    peers.push_back(*peer);
  }
  NodeBuilder builder = p2panda::builder();
  if (!options.key_file.empty()) {
    auto key = load_or_create_key(options.key_file);
    if (!key) return usage_error(key.error().to_string());
    builder.private_key(*key);
  }
  builder.database_url(options.db);
  builder.bind_v4(bind->host, bind->port);
  builder.mdns_mode(options.mdns == "off"       ? MdnsMode::Disabled
                    : options.mdns == "passive" ? MdnsMode::Passive
                                                : MdnsMode::Active);
  for (const auto& peer : peers) builder.bootstrap(peer.id, {peer.address.to_string()});

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto node = builder.spawn_blocking();
  if (!node) {
    std::cerr << "p2panda: cannot start the node: " << node.error().to_string() << '\n';
    return kExitInvalid;
  }
  const std::string nick = options.nick.empty() ? node->id().to_hex().substr(0, 8) : options.nick;
  ChatView view;
  view.line("chat '" + options.topic + "' as " + nick + "; others join with --peer " +
            node->id().to_hex() + "@" + (node->addresses().empty() ? "?" : node->addresses()[0]));
  StreamOptions stream_options;
  stream_options.from = from::Start{};  // the whole history from the database, every time
  auto stream = node->stream_blocking<ChatMessage>(topic, stream_options);
  if (!stream) {
    std::cerr << "p2panda: " << stream.error().to_string() << '\n';
    return kExitInvalid;
  }

  std::atomic<bool> stop{false};
  std::thread reader([&view, &stop, subscription = stream->subscription]() mutable {
    while (!stop) {
      auto event = subscription.next(200ms);
      if (!event) return;
      if (*event) view.on_event(**event);
    }
  });
  std::string pending;
  char buffer[4096];
  while (!stop) {
    if (signalled(signals)) break;
    pollfd input{STDIN_FILENO, POLLIN, 0};
    if (::poll(&input, 1, 100) <= 0) continue;
    const ssize_t count = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) break;
    pending.append(buffer, static_cast<std::size_t>(count));
    for (auto newline = pending.find('\n'); newline != std::string::npos && !stop;
         newline = pending.find('\n')) {
      std::string text = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      if (!text.empty() && text.back() == '\r') text.pop_back();
      if (text == "/quit") {
        stop = true;
        break;
      }
      if (text.empty()) continue;
      auto id = stream->publisher.publish_blocking(ChatMessage{nick, text});
      if (!id) view.line("-- not sent: " + id.error().to_string() + " --");
    }
  }
  stop = true;
  node->shutdown();
  reader.join();
  view.line("-- bye --");
  return kExitOk;
}

}  // namespace

void add_chat_command(CLI::App& app, Runner& runner) {
  auto options = std::make_shared<ChatOptions>();
  CLI::App* chat = app.add_subcommand("chat", "Chat in a topic from the terminal (/quit ends)");
  chat->add_option("--topic", options->topic, "The chat's name (hashed into a topic) or hex")
      ->required()
      ->type_name("NAME");
  chat->add_option("--nick", options->nick, "Your name (default: your node id's first 8 hex)");
  chat->add_option("--db", options->db, "SQLite database file: keeps the history (default: memory)")
      ->type_name("PATH");
  chat->add_option("--key-file", options->key_file, "Seed file; created when missing")
      ->type_name("PATH");
  chat->add_option("--bind", options->bind, "Address to listen on (default 127.0.0.1:0)")
      ->type_name("HOST:PORT");
  chat->add_option("--peer", options->peers, "Peer to chat with directly (repeatable)")
      ->type_name("ID@HOST:PORT");
  chat->add_option("--mdns", options->mdns, "mDNS discovery (default active)")
      ->check(CLI::IsMember({"off", "passive", "active"}));
  chat->callback([options, &runner] { runner = [options] { return run_chat(*options); }; });
}

}  // namespace p2panda::apps
