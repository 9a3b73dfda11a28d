// End-to-end tests of `p2panda node --json`, `sync` and `status`: real processes talking QUIC on
// 127.0.0.1, driven through the JSON-lines contract of docs/cli.md.
#include <gtest/gtest.h>

#include <memory>

#include "node_process.hpp"
#include "tool_runner.hpp"

namespace p2panda::apps::test {
namespace {

const std::string kTopic = "e2e-chat";

std::unique_ptr<NodeProcess> start(std::vector<std::string> args) {
  std::vector<std::string> all{"node", "--json", "--topic", kTopic};
  all.insert(all.end(), args.begin(), args.end());
  auto node = std::make_unique<NodeProcess>(all);
  EXPECT_TRUE(node->wait_event("ready")) << "no ready line";
  return node;
}

// A node that publishes its stdin lines, with a metrics endpoint.
std::unique_ptr<NodeProcess> start_publisher(const TempDir& dir) {
  return start({"--publish-stdin", "--key-file", dir.file("a.key"), "--metrics", "127.0.0.1:0"});
}

bool is_peer_up_from(const Json& line, const std::string& peer_arg) {
  return line.value("event", "") == "peer_up" &&
         line.value("remote", "") == peer_arg.substr(0, peer_arg.find('@'));
}

TEST(NodeCli, ThreeNodesDeliverEachPublishedLineExactlyOnce) {
  TempDir dir;
  auto a = start_publisher(dir);
  const std::string a_peer = a->peer_arg();
  auto b = start({"--bootstrap", a_peer, "--db", dir.file("b.db")});
  auto c = start({"--peer", a_peer});
  for (auto* node : {b.get(), c.get()}) {
    ASSERT_TRUE(node->wait_for([&](const Json& l) { return is_peer_up_from(l, a_peer); }));
  }
  const auto before = http_get(a->metrics_address(), "/metrics");
  ASSERT_TRUE(before);

  const std::vector<std::string> messages{"one", "two", "three", "marker"};
  for (const auto& message : messages) a->write_line(message);
  for (const auto& message : messages) {
    ASSERT_TRUE(a->wait_processed(message)) << message;
    ASSERT_TRUE(b->wait_processed(message)) << message;
    ASSERT_TRUE(c->wait_processed(message)) << message;
  }
  auto processed = b->wait_processed("one");
  EXPECT_EQ(processed->value("source", ""), "sync");
  EXPECT_EQ(processed->value("seq", -1), 0);
  EXPECT_EQ(processed->value("author", ""), a_peer.substr(0, 64));
  EXPECT_EQ(a->count("published"), messages.size());

  // The counters moved, and status lists both peers.
  const auto after = http_get(a->metrics_address(), "/metrics");
  ASSERT_TRUE(after);
  EXPECT_EQ(prometheus_value(*before, "p2panda_operations_published_total"), 0);
  EXPECT_EQ(prometheus_value(*after, "p2panda_operations_published_total"), 4);
  EXPECT_EQ(prometheus_value(*after, "p2panda_peers"), 2);
  // B and C each hold a sync and a gossip connection to A at least.
  EXPECT_GE(prometheus_value(*after, "p2panda_connections"), 2);
  EXPECT_EQ(prometheus_value(*after, "p2panda_topics"), 1);
  EXPECT_EQ(prometheus_value(*after, "p2panda_pipeline_latency_seconds_count"), 4);
  EXPECT_FALSE(http_get(a->metrics_address(), "/nothing-here"));
  const ToolRun status = run_tool({"status", "--metrics", a->metrics_address()});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(status.json()["peers"].size(), 2u) << status.out;
  EXPECT_EQ(status.json()["metrics"]["operations_published"], 4);

  // Clean shutdown; then every line was processed exactly once over the whole run.
  for (auto* node : {c.get(), b.get(), a.get()}) {
    EXPECT_EQ(node->terminate(), 0);
    ASSERT_FALSE(node->lines().empty());
    EXPECT_EQ(node->lines().back().value("event", ""), "stopped");
    EXPECT_EQ(node->count("error"), 0u);
    for (const auto& message : messages) EXPECT_EQ(node->count("processed", message), 1u);
  }
  // B met A, and C too once gossip introduced them: every peer that came up went down again.
  EXPECT_GE(b->count("peer_up"), 1u);
  EXPECT_EQ(b->count("peer_down"), b->count("peer_up"));
}

TEST(NodeCli, RestartedNodeCatchesUpFromItsDatabase) {
  TempDir dir;
  auto a = start_publisher(dir);
  const std::string a_peer = a->peer_arg();
  const std::vector<std::string> b_args{"--bootstrap", a_peer, "--db", dir.file("b.db"),
                                        "--key-file", dir.file("b.key")};
  auto b = start(b_args);
  a->write_line("before");
  ASSERT_TRUE(b->wait_processed("before"));
  ASSERT_EQ(b->terminate(), 0);

  a->write_line("while away");
  ASSERT_TRUE(a->wait_processed("while away"));
  auto restarted = start(b_args);
  ASSERT_TRUE(restarted->wait_processed("while away"))
      << "restarted B:\n" << restarted->transcript() << "A:\n" << a->transcript();
  a->write_line("after");
  ASSERT_TRUE(restarted->wait_processed("after"))
      << "restarted B:\n" << restarted->transcript() << "A:\n" << a->transcript();
  ASSERT_EQ(restarted->terminate(), 0);
  // "before" was acked by the first run: not delivered again.
  EXPECT_EQ(restarted->count("processed", "before"), 0u);
  EXPECT_EQ(restarted->count("processed", "while away"), 1u);
  EXPECT_EQ(restarted->lines().front()["node_id"], b->lines().front()["node_id"]);
}

TEST(NodeCli, SyncCommandReportsCountsAndFailsOnADeadAddress) {
  TempDir dir;
  auto a = start_publisher(dir);
  for (const auto& message : {"x", "y", "z"}) a->write_line(message);
  ASSERT_TRUE(a->wait_processed("z"));

  const std::vector<std::string> sync{"sync",     "--json", "--topic", kTopic, "--peer",
                                      a->peer_arg(), "--db", dir.file("s.db")};
  const ToolRun first = run_tool(sync);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const Json report = first.json();
  EXPECT_EQ(report["event"], "synced");
  EXPECT_EQ(report["received_operations"], 3);
  EXPECT_EQ(report["ingested"], 3);
  EXPECT_EQ(report["sent_operations"], 0);
  EXPECT_GT(report["received_bytes"].get<int>(), 0);
  // The second time everything is there already.
  const ToolRun second = run_tool(sync);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.json()["received_operations"], 0);

  // A topic the node does not follow: refused.
  const ToolRun refused = run_tool({"sync", "--topic", "other", "--peer", a->peer_arg()});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("refused"), std::string::npos) << refused.err;

  // Nobody listens on the port of a stopped node: exit 1 within the timeout.
  const std::string dead = a->peer_arg();
  ASSERT_EQ(a->terminate(), 0);
  const auto started = std::chrono::steady_clock::now();
  const ToolRun unreachable =
      run_tool({"sync", "--topic", kTopic, "--peer", dead, "--timeout", "1"});
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_NE(unreachable.err.find("cannot reach"), std::string::npos) << unreachable.err;
  EXPECT_LT(took, std::chrono::seconds(4));
}

TEST(NodeCli, BadArgumentsExitWith2) {
  EXPECT_EQ(run_tool({"node", "--bind", "localhost"}).exit_code, 2);
  EXPECT_EQ(run_tool({"node", "--publish-stdin"}).exit_code, 2);
  EXPECT_EQ(run_tool({"node", "--ephemeral-stdin"}).exit_code, 2);
  EXPECT_EQ(run_tool({"node", "--topic", "t", "--publish-stdin", "--ephemeral-stdin"}).exit_code,
            2);
  EXPECT_EQ(run_tool({"node", "--bootstrap", "abc@127.0.0.1:1"}).exit_code, 2);
  EXPECT_EQ(run_tool({"node", "--mdns", "loud"}).exit_code, 2);
  EXPECT_EQ(run_tool({"sync", "--topic", "t", "--peer", "127.0.0.1:1"}).exit_code, 2);
}

}  // namespace
}  // namespace p2panda::apps::test
