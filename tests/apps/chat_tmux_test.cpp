// `p2panda chat` driven in tmux, as a person would use it: two chats in two windows exchange
// messages, a third sees their history by sync, and a restarted chat shows it from its database.
// The tmux server runs on a private socket; its pid and the panes' pids are killed in teardown.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fcntl.h>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tool_runner.hpp"

extern char** environ;

namespace p2panda::apps::test {
namespace {

using Clock = std::chrono::steady_clock;

// Runs argv[0] from PATH; returns its stdout, nullopt unless it exited 0.
std::optional<std::string> run(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  pid_t pid = -1;
  const int spawned = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  std::string text;
  char buffer[4096];
  ssize_t count;
  while (spawned == 0 && (count = ::read(out[0], buffer, sizeof buffer)) > 0) {
    text.append(buffer, static_cast<std::size_t>(count));
  }
  ::close(out[0]);
  if (spawned != 0) return std::nullopt;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return text;
}

class Tmux {
 public:
  Tmux() : socket_("p2panda-chat-test-" + std::to_string(::getpid())) {}
  ~Tmux() {
    // By pid: the chats in the panes, then the server.
    if (auto panes = tmux({"list-panes", "-a", "-F", "#{pane_pid}"})) {
      std::istringstream pids(*panes);
      for (std::string pid; std::getline(pids, pid);) {
        if (!pid.empty()) ::kill(std::stoi(pid), SIGKILL);
      }
    }
    if (server_pid_ > 0) ::kill(server_pid_, SIGKILL);
  }

  // Opens window `name` running `command` (a shell command line).
  void open(const std::string& name, const std::string& command) {
    if (server_pid_ < 0) {
      ASSERT_TRUE(tmux({"-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "180", "-y", "50",
                        "-n", name, command}));
      ASSERT_TRUE(tmux({"set-option", "-g", "remain-on-exit", "on"}));
      auto pid = tmux({"display-message", "-p", "#{pid}"});
      ASSERT_TRUE(pid);
      server_pid_ = std::stoi(*pid);
    } else {
      ASSERT_TRUE(tmux({"new-window", "-d", "-t", "t", "-n", name, command}));
    }
  }
  std::string screen(const std::string& name) {
    return tmux({"capture-pane", "-p", "-J", "-S", "-500", "-t", "t:" + name}).value_or("");
  }
  // Polls the window until `pattern` matches its text; the match, or nullopt after `timeout`.
  std::optional<std::smatch> wait_for(const std::string& name, const std::string& pattern,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    const std::regex regex(pattern);
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      last_ = screen(name);
      std::smatch match;
      if (std::regex_search(last_, match, regex)) return match;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::nullopt;
  }
  void type(const std::string& name, const std::string& text) {
    ASSERT_TRUE(tmux({"send-keys", "-t", "t:" + name, "-l", text}));
    ASSERT_TRUE(tmux({"send-keys", "-t", "t:" + name, "Enter"}));
  }
  const std::string& last_screen() const { return last_; }

 private:
  std::optional<std::string> tmux(std::vector<std::string> args) {
    args.insert(args.begin(), {"tmux", "-L", socket_});
    return run(args);
  }

  std::string socket_;
  pid_t server_pid_ = -1;
  std::string last_;
};

std::string chat(const TempDir& dir, const std::string& nick, const std::string& extra) {
  return "P2PANDA_LOG=warn exec " + std::string(P2PANDA_TOOL) + " chat --topic tmux-chat --nick " +
         nick + " --mdns off --key-file " + dir.file(nick + ".key") + " " + extra;
}

TEST(ChatTmux, TwoChatsExchangeMessagesAndSeeTheirHistory) {
  if (!run({"tmux", "-V"})) GTEST_SKIP() << "tmux is not installed";
  TempDir dir;
  Tmux tmux;
  tmux.open("alice", chat(dir, "alice", "--db " + dir.file("alice.db")));
  auto address = tmux.wait_for("alice", "--peer ([0-9a-f]{64}@[0-9.]+:[0-9]+)");
  ASSERT_TRUE(address) << tmux.last_screen();
  const std::string alice = (*address)[1];

  tmux.open("bob", chat(dir, "bob", "--peer " + alice));
  ASSERT_TRUE(tmux.wait_for("bob", "-- " + alice.substr(0, 8) + " joined --")) << tmux.last_screen();
  tmux.type("alice", "hello bob");
  ASSERT_TRUE(tmux.wait_for("bob", "\\] alice: hello bob")) << tmux.last_screen();
  tmux.type("bob", "hi alice");
  ASSERT_TRUE(tmux.wait_for("alice", "\\] bob: hi alice")) << tmux.last_screen();

  // A newcomer gets the history by sync, with a progress bar.
  tmux.open("carol", chat(dir, "carol", "--peer " + alice));
  ASSERT_TRUE(tmux.wait_for("carol", "\\] alice: hello bob")) << tmux.last_screen();
  ASSERT_TRUE(tmux.wait_for("carol", "\\] bob: hi alice")) << tmux.last_screen();
  // From whichever peer carol syncs with first: she may learn of bob and meet him before alice,
  // and then her session with alice brings nothing new (it flaked on that order).
  ASSERT_TRUE(tmux.wait_for("carol", "-- sync [0-9a-f]{8} \\[#+\\] 2/2 operations"))
      << tmux.last_screen();

  // Alice quits and comes back alone: the history is in her database.
  tmux.type("alice", "/quit");
  ASSERT_TRUE(tmux.wait_for("alice", "-- bye --")) << tmux.last_screen();
  tmux.open("alice2", chat(dir, "alice", "--db " + dir.file("alice.db")));
  ASSERT_TRUE(tmux.wait_for("alice2", "-- history: 2 messages --")) << tmux.last_screen();
  ASSERT_TRUE(tmux.wait_for("alice2", "\\] alice: hello bob")) << tmux.last_screen();
  ASSERT_TRUE(tmux.wait_for("alice2", "\\] bob: hi alice")) << tmux.last_screen();
}

// What a person does: two terminals, `p2panda chat --topic NAME` in each, nothing else. They find
// each other by mDNS, which a node runs on loopback unless told otherwise.
TEST(ChatTmux, TwoChatsWithNoFlagsFindEachOtherByMdns) {
  if (!run({"tmux", "-V"})) GTEST_SKIP() << "tmux is not installed";
  Tmux tmux;
  // A room of its own, so chats of a concurrent test run on this machine are not in it.
  const std::string room = "tmux-mdns-" + std::to_string(::getpid());
  const std::string tool = "P2PANDA_LOG=warn exec " + std::string(P2PANDA_TOOL) + " chat --topic " + room;
  tmux.open("one", tool + " --nick one");
  tmux.open("two", tool + " --nick two");
  ASSERT_TRUE(tmux.wait_for("one", "-- [0-9a-f]{8} joined --", std::chrono::seconds(20)))
      << tmux.last_screen();
  ASSERT_TRUE(tmux.wait_for("two", "-- [0-9a-f]{8} joined --", std::chrono::seconds(20)))
      << tmux.last_screen();
  tmux.type("one", "found you");
  ASSERT_TRUE(tmux.wait_for("two", "\\] one: found you")) << tmux.last_screen();
  tmux.type("two", "and I you");
  ASSERT_TRUE(tmux.wait_for("one", "\\] two: and I you")) << tmux.last_screen();
}

}  // namespace
}  // namespace p2panda::apps::test
