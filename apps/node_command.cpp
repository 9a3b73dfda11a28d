// `p2panda node`: a long-running node and the JSON-lines scripting contract of docs/cli.md.
//
// Threads: the main thread waits for SIGTERM/SIGINT (blocked everywhere, taken with
// sigtimedwait); one thread per topic reads its subscription through the blocking facade (and
// one more per topic its ephemeral messages with --ephemeral); one reads stdin for
// --publish-stdin or --ephemeral-stdin; one the system events; the metrics server has its own. All print through NodeReport.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <memory>
#include <thread>

#include <p2panda/node.hpp>

#include "commands.hpp"
#include "core/try.hpp"
#include "http.hpp"
#include "logging.hpp"
#include "net_args.hpp"
#include "node_metrics.hpp"
#include "node_report.hpp"

namespace p2panda::apps {
namespace {

using namespace std::chrono_literals;

struct NodeOptions {
  std::string db = ":memory:";
  std::string key_file;
  std::vector<std::string> topics;
  std::string bind = "127.0.0.1:0";
  std::vector<std::string> bootstrap;
  std::vector<std::string> peers;
  std::string mdns = "off";
  std::vector<std::string> mdns_interfaces;
  std::string metrics;
  bool json = false;
  bool publish_stdin = false;
  bool ephemeral = false;
  bool ephemeral_stdin = false;
};

struct Parsed {
  std::vector<Topic> topics;
  HostPort bind;
  std::vector<PeerArg> bootstrap;
  std::vector<PeerArg> peers;
  MdnsMode mdns = MdnsMode::Disabled;
  std::optional<HostPort> metrics;
};

Result<Parsed> parse(const NodeOptions& options) {
  Parsed parsed;
  for (const auto& topic : options.topics) parsed.topics.push_back(parse_topic(topic));
  P2PANDA_TRY(bind, parse_host_port(options.bind));
  parsed.bind = bind;
  for (const auto& text : options.bootstrap) {
    P2PANDA_TRY(peer, parse_peer(text));
    parsed.bootstrap.push_back(peer);
  }
  for (const auto& text : options.peers) {
    P2PANDA_TRY(peer, parse_peer(text));
    parsed.peers.push_back(peer);
  }
  parsed.mdns = options.mdns == "active"    ? MdnsMode::Active
                : options.mdns == "passive" ? MdnsMode::Passive
                                            : MdnsMode::Disabled;
  if (!options.metrics.empty()) {
    P2PANDA_TRY(metrics, parse_host_port(options.metrics));
    parsed.metrics = metrics;
  }
  if (options.publish_stdin && parsed.topics.empty()) {
    return fail(Errc::InvalidArgument, "--publish-stdin needs a --topic to publish to");
  }
  if (options.ephemeral_stdin && parsed.topics.empty()) {
    return fail(Errc::InvalidArgument, "--ephemeral-stdin needs a --topic to publish to");
  }
  if (options.ephemeral_stdin && options.publish_stdin) {
    return fail(Errc::InvalidArgument, "--publish-stdin and --ephemeral-stdin both read stdin");
  }
  return parsed;
}

// Reads lines from stdin without blocking shutdown: poll with a timeout, then read what is there.
// Each complete line (a trailing `\r` dropped) goes to `publish`.
template <class Publish>
void read_lines(Publish publish, const std::atomic<bool>& stop) {
  std::string pending;
  char buffer[4096];
  while (!stop) {
    pollfd input{STDIN_FILENO, POLLIN, 0};
    if (::poll(&input, 1, 100) <= 0) continue;
    const ssize_t count = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) break;  // end of input: the node keeps running until a signal
    pending.append(buffer, static_cast<std::size_t>(count));
    for (auto newline = pending.find('\n'); newline != std::string::npos;
         newline = pending.find('\n')) {
      std::string line = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      publish(line);
    }
  }
  if (!pending.empty() && !stop) {
    spdlog::warn("stdin ended without a newline; the last {} bytes were not published",
                 pending.size());
  }
}

void publish_lines(Publisher<std::string> publisher, NodeReport& report,
                   const std::atomic<bool>& stop) {
  read_lines(
      [&](const std::string& line) {
        auto id = publisher.publish_blocking(line);
        if (!id) {
          report.error("publish failed: " + id.error().to_string());
          return;
        }
        report.emit({{"event", "published"},
                     {"topic", publisher.topic().to_hex()},
                     {"id", id->to_hex()}});
      },
      stop);
}

// --ephemeral-stdin: each line is signed and broadcast over gossip, never stored.
void publish_ephemeral_lines(EphemeralPublisher<std::string> publisher, NodeReport& report,
                             const std::atomic<bool>& stop) {
  read_lines(
      [&](const std::string& line) {
        auto sent = publisher.publish_blocking(line);
        if (!sent) {
          report.error("ephemeral publish failed: " + sent.error().to_string());
          return;
        }
        report.emit({{"event", "ephemeral_published"}, {"topic", publisher.topic().to_hex()}});
      },
      stop);
}

// `received` is this host's clock when the message was taken, next to the author's
// `timestamp`: on one machine (the netns bed) their difference is the delivery latency.
// The readers run until the node is shut down, not until `stop`: what shutting down reports (the
// last sessions ending, so the last peer_down) comes after `stop` is set, and a reader that
// checked `stop` between two waits lost it.
void read_ephemeral(EphemeralSubscription<std::string> subscription, NodeReport& report) {
  for (;;) {
    auto message = subscription.next(200ms);
    if (!message) {
      if (message.error().code() != Errc::NodeShutDown) report.error(message.error().to_string());
      return;
    }
    if (!*message) continue;
    const auto received = Timestamp::now();
    report.emit({{"event", "ephemeral"},
                 {"topic", (*message)->topic.to_hex()},
                 {"author", (*message)->author.to_hex()},
                 {"message", (*message)->message},
                 {"timestamp", (*message)->timestamp.value()},
                 {"received", received.value()}});
  }
}

void read_events(Subscription<std::string> subscription, NodeReport& report) {
  for (;;) {
    auto event = subscription.next(200ms);
    if (!event) {
      if (event.error().code() != Errc::NodeShutDown) report.error(event.error().to_string());
      return;
    }
    if (*event) report.on_event(subscription.topic(), **event);
  }
}

void read_system_events(EventStream events, NodeReport& report) {
  for (;;) {
    auto event = events.next(200ms);
    if (!event) {
      if (event.error().code() != Errc::NodeShutDown) report.error(event.error().to_string());
      return;
    }
    if (*event) report.on_system_event(**event);
  }
}

// Waits for SIGINT or SIGTERM, which every thread blocks (the mask is inherited).
int wait_for_signal(const sigset_t& signals) {
  for (;;) {
    const int signal = ::sigwaitinfo(&signals, nullptr);
    if (signal > 0) return signal;
  }
}

int run_node(const NodeOptions& options) {
  init_logging();
  auto parsed = parse(options);
  if (!parsed) return usage_error(parsed.error().to_string());
  NodeReport report(options.json);

  NodeBuilder builder = p2panda::builder();
  if (!options.key_file.empty()) {
    auto key = load_or_create_key(options.key_file);
    if (!key) return usage_error(key.error().to_string());
    builder.private_key(*key);
  }
  builder.database_url(options.db);
  if (parsed->bind.host.find(':') != std::string::npos) {
    builder.bind_v6(parsed->bind.host, parsed->bind.port);
  } else {
    builder.bind_v4(parsed->bind.host, parsed->bind.port);
  }
  // --bootstrap and --peer both sync directly with the peer today (docs/cli.md).
  for (const auto& peer : parsed->bootstrap) {
    builder.bootstrap(peer.id, {peer.address.to_string()});
  }
  builder.mdns_mode(parsed->mdns);
  if (!options.mdns_interfaces.empty()) builder.mdns_interfaces(options.mdns_interfaces);

  // Blocked before the node starts its threads, so that they inherit the mask and the signal
  // reaches wait_for_signal() only.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto node = builder.spawn_blocking();
  if (!node) {
    report.error("cannot start the node: " + node.error().to_string());
    return kExitInvalid;
  }
  // Opened first: only events after this call are delivered, and mDNS may find peers at once.
  auto events = node->event_stream_blocking();
  if (!events) {
    report.error("cannot open the event stream: " + events.error().to_string());
    node->shutdown();
    return kExitInvalid;
  }
  for (const auto& peer : parsed->peers) {
    auto added = node->insert_bootstrap(peer.id, {peer.address.to_string()});
    if (!added) report.error("--peer: " + added.error().to_string());
  }
  std::vector<Stream<std::string>> streams;
  for (const auto& topic : parsed->topics) {
    auto stream = node->stream_blocking<std::string>(topic);
    if (!stream) {
      report.error("cannot open topic " + topic.to_hex() + ": " + stream.error().to_string());
      node->shutdown();
      return kExitInvalid;
    }
    streams.push_back(std::move(*stream));
  }
  std::vector<EphemeralStream<std::string>> ephemerals;
  if (options.ephemeral || options.ephemeral_stdin) {
    for (const auto& topic : parsed->topics) {
      auto stream = node->ephemeral_stream_blocking<std::string>(topic);
      if (!stream) {
        report.error("cannot open ephemeral topic " + topic.to_hex() + ": " +
                     stream.error().to_string());
        node->shutdown();
        return kExitInvalid;
      }
      ephemerals.push_back(std::move(*stream));
    }
  }

  std::unique_ptr<HttpServer> metrics;
  if (parsed->metrics) {
    auto topics = parsed->topics;
    auto handler = [&report, topics, node = *node](const std::string& path) mutable
        -> std::optional<HttpResponse> {
      if (path == "/metrics") {
        return HttpResponse{"text/plain; version=0.0.4; charset=utf-8",
                            prometheus_text(node.metrics(), topics.size(), report)};
      }
      if (path == "/status") {
        return HttpResponse{"application/json", status_json(node, topics, report).dump() + "\n"};
      }
      return std::nullopt;
    };
    auto started = HttpServer::start(*parsed->metrics, std::move(handler));
    if (!started) {
      report.error("cannot serve metrics: " + started.error().to_string());
      node->shutdown();
      return kExitInvalid;
    }
    metrics = std::move(*started);
  }

  nlohmann::ordered_json ready = {{"event", "ready"},
                          {"node_id", node->id().to_hex()},
                          {"addresses", node->addresses()},
                          {"topics", nlohmann::ordered_json::array()}};
  for (const auto& topic : parsed->topics) ready["topics"].push_back(topic.to_hex());
  if (metrics) ready["metrics"] = metrics->address().to_string();
  report.emit(ready);
  spdlog::info("node {} listening on {}", node->id().to_hex(),
               node->addresses().empty() ? "-" : node->addresses().front());

  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (const auto& stream : streams) {
    threads.emplace_back(read_events, stream.subscription, std::ref(report));
  }
  threads.emplace_back(read_system_events, *events, std::ref(report));
  for (const auto& stream : ephemerals) {
    threads.emplace_back(read_ephemeral, stream.subscription, std::ref(report));
  }
  std::thread input;
  if (options.publish_stdin) {
    input = std::thread(publish_lines, streams.front().publisher, std::ref(report),
                        std::cref(stop));
  } else if (options.ephemeral_stdin) {
    input = std::thread(publish_ephemeral_lines, ephemerals.front().publisher, std::ref(report),
                        std::cref(stop));
  }

  const int signal = wait_for_signal(signals);
  spdlog::info("{}: shutting down", signal == SIGTERM ? "SIGTERM" : "SIGINT");
  stop = true;
  if (input.joinable()) input.join();
  metrics.reset();
  node->shutdown();  // wakes the readers with NodeShutDown
  for (auto& thread : threads) thread.join();
  report.emit({{"event", "stopped"}});
  return kExitOk;
}

}  // namespace

void add_node_command(CLI::App& app, Runner& runner) {
  auto options = std::make_shared<NodeOptions>();
  CLI::App* node = app.add_subcommand("node", "Run a node (scripting contract: docs/cli.md)");
  node->add_option("--db", options->db, "SQLite database file (default: in memory)")
      ->type_name("PATH");
  node->add_option("--key-file", options->key_file,
                   "Seed file as `key generate` writes it; created when missing")
      ->type_name("PATH");
  node->add_option("--topic", options->topics,
                   "Topic to follow: 64 hex characters, or a name hashed with BLAKE3 (repeatable)")
      ->type_name("T");
  node->add_option("--bind", options->bind, "Address to listen on (default 127.0.0.1:0)")
      ->type_name("HOST:PORT");
  node->add_option("--bootstrap", options->bootstrap, "Bootstrap peer (repeatable)")
      ->type_name("ID@HOST:PORT");
  node->add_option("--peer", options->peers,
                   "Peer to keep a live sync session with, without discovery (repeatable)")
      ->type_name("ID@HOST:PORT");
  node->add_option("--mdns", options->mdns, "mDNS discovery (default off)")
      ->check(CLI::IsMember({"off", "passive", "active"}));
  node->add_option("--mdns-interface", options->mdns_interfaces,
                   "Network interface for mDNS (repeatable)")
      ->type_name("NAME");
  node->add_option("--metrics", options->metrics, "Serve GET /metrics and GET /status here")
      ->type_name("HOST:PORT");
  node->add_flag("--json", options->json, "One JSON object per line on stdout");
  node->add_flag("--publish-stdin", options->publish_stdin,
                 "Publish each stdin line as a string message to the first topic");
  node->add_flag("--ephemeral", options->ephemeral,
                 "Also follow each topic's ephemeral messages (gossip only, never stored)");
  node->add_flag("--ephemeral-stdin", options->ephemeral_stdin,
                 "Send each stdin line as an ephemeral message on the first topic (implies "
                 "--ephemeral)");
  node->callback([options, &runner] { runner = [options] { return run_node(*options); }; });
}

}  // namespace p2panda::apps
