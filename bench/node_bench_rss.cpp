// Memory of an idle node, measured in a separate process so that nothing the benchmark itself
// allocated (other nodes, operation pools, the parent's heap) is counted. The parent starts
// the idle_node program (bench/idle_node.cpp: only a node, no benchmark library) with pipes on
// its stdin and stdout and drives it with one-line commands; after each step the child says
// "ready" and the parent reads VmRSS of the child from /proc/<pid>/status.
#include "node_bench.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <p2panda/node.hpp>

namespace p2panda::bench {
namespace {

using namespace std::chrono_literals;

// Lets the node's threads finish starting (endpoint, store writer) before RSS is read.

// "VmRSS:  1234 kB" -> 1234; 0 when the process or the field is gone.
double status_kb(int pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1));
  }
  return 0;
}

struct Child {
  int pid = -1;
  FILE* to = nullptr;    // the child's stdin
  FILE* from = nullptr;  // the child's stdout

  bool command(const char* line) {
    if (std::fprintf(to, "%s\n", line) < 0 || std::fflush(to) != 0) return false;
    char answer[64] = {};
    return std::fgets(answer, sizeof answer, from) != nullptr && std::string(answer) == "ready\n";
  }
};

std::optional<Child> start_child(const char* self) {
  int to_child[2], from_child[2];
  if (pipe(to_child) != 0) return std::nullopt;
  if (pipe(from_child) != 0) return std::nullopt;
  const int pid = fork();
  if (pid < 0) return std::nullopt;
  if (pid == 0) {
    dup2(to_child[0], STDIN_FILENO);
    dup2(from_child[1], STDOUT_FILENO);
    close(to_child[1]);
    close(from_child[0]);
    execl(self, self, static_cast<char*>(nullptr));
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  return Child{pid, fdopen(to_child[1], "w"), fdopen(from_child[0], "r")};
}

void print_breakdown(const char* when, int pid) {
  std::printf("  %-28s VmRSS %7.0f kB (anon %7.0f, file %7.0f), threads %2.0f\n", when,
              status_kb(pid, "VmRSS"), status_kb(pid, "RssAnon"), status_kb(pid, "RssFile"),
              status_kb(pid, "Threads"));
}

}  // namespace

std::optional<RssFigures> measure_rss(const char* self) {
  auto child = start_child(self);
  if (!child) {
    std::fprintf(stderr, "rss: cannot start %s --idle-child\n", self);
    return std::nullopt;
  }
  RssFigures figures;
  bool ok = child->command("start");  // the process is up, no node yet
  if (ok) {
    figures.process_mb = status_kb(child->pid, "VmRSS") / 1024.0;
    print_breakdown("process before spawn():", child->pid);
    ok = child->command("spawn");
  }
  if (ok) {
    figures.idle_node_mb = status_kb(child->pid, "VmRSS") / 1024.0;
    print_breakdown("after spawn(), idle:", child->pid);
    ok = child->command("topics");
  }
  if (ok) {
    const double kb = status_kb(child->pid, "VmRSS");
    figures.per_topic_kb = (kb - figures.idle_node_mb * 1024.0) / kIdleTopics;
    print_breakdown("after opening the topics:", child->pid);
  }
  std::fclose(child->to);  // EOF: the child shuts its node down and exits
  std::fclose(child->from);
  int status = 0;
  waitpid(child->pid, &status, 0);
  if (!ok) {
    std::fprintf(stderr, "rss: the child did not answer (status %d)\n", status);
    return std::nullopt;
  }
  return figures;
}

}  // namespace p2panda::bench
