// A running `p2panda node --json` for the end-to-end tests: started with pipes on stdin and
// stdout (stderr goes to the test's), its JSON lines read with timeouts and kept, killed by pid
// on destruction if still running. Test-only; one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace p2panda::apps::test {

using Json = nlohmann::json;
using namespace std::chrono_literals;

class NodeProcess {
 public:
  // Runs P2PANDA_TOOL with `args` (e.g. {"node", "--json", ...}).
  explicit NodeProcess(const std::vector<std::string>& args);
  ~NodeProcess();
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  // The first line so far or within `timeout` (counted from now) for which `match` holds;
  // nullopt when none came in time or the output ended.
  std::optional<Json> wait_for(const std::function<bool(const Json&)>& match,
                               std::chrono::milliseconds timeout = 10s);
  // The first line with "event" == `event` (and, when given, "message" == `message`).
  std::optional<Json> wait_event(const std::string& event, std::chrono::milliseconds timeout = 10s);
  std::optional<Json> wait_processed(const std::string& message,
                                     std::chrono::milliseconds timeout = 10s);

  void write_line(const std::string& line);
  // SIGTERM, then reads the rest of the output; returns the exit code (-1: no normal exit in
  // `timeout`, then it is killed).
  int terminate(std::chrono::milliseconds timeout = 10s);

  // Lines read so far with "event" == `event` and, if given, "message" == `message`.
  std::size_t count(const std::string& event, const std::string& message = "") const;
  const std::vector<Json>& lines() const { return lines_; }
  // Every line read so far, one per line: what a failed assertion should show.
  std::string transcript() const;
  // From the ready line: "ID@HOST:PORT" of the node, its metrics address.
  std::string peer_arg() const;
  std::string metrics_address() const;

 private:
  // Reads what is available within `timeout`; false at end of output or timeout.
  bool read_more(std::chrono::steady_clock::time_point deadline);

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::string pending_;
  std::vector<Json> lines_;
  std::optional<int> exit_code_;
};

// Runs GET `path` against "HOST:PORT"; the body of a 200 answer, nullopt otherwise.
std::optional<std::string> http_get(const std::string& address, const std::string& path);

// The value of an unlabelled Prometheus sample `name`, or -1.
double prometheus_value(const std::string& text, const std::string& name);

}  // namespace p2panda::apps::test
