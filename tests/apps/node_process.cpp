#include "node_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace p2panda::apps::test {
namespace {

using Clock = std::chrono::steady_clock;

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

NodeProcess::NodeProcess(const std::vector<std::string>& args) {
  std::vector<std::string> strings{P2PANDA_TOOL};
  strings.insert(strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  const int spawned = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  stdin_fd_ = in[1];
  stdout_fd_ = out[0];
  if (spawned != 0) throw std::runtime_error("cannot run " + strings[0]);
}

NodeProcess::~NodeProcess() {
  close_fd(stdin_fd_);
  close_fd(stdout_fd_);
  if (!exit_code_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

bool NodeProcess::read_more(Clock::time_point deadline) {
  if (stdout_fd_ < 0) return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return false;
  pollfd fd{stdout_fd_, POLLIN, 0};
  const int ready = ::poll(&fd, 1, static_cast<int>(left.count()));
  if (ready < 0 && errno == EINTR) return true;
  if (ready <= 0) return false;
  char buffer[8192];
  const ssize_t count = ::read(stdout_fd_, buffer, sizeof buffer);
  if (count < 0 && errno == EINTR) return true;
  if (count <= 0) {
    close_fd(stdout_fd_);
    return false;
  }
  pending_.append(buffer, static_cast<std::size_t>(count));
  for (auto newline = pending_.find('\n'); newline != std::string::npos;
       newline = pending_.find('\n')) {
    auto line = Json::parse(pending_.substr(0, newline), nullptr, false);
    pending_.erase(0, newline + 1);
    // A line that is not JSON breaks the contract: keep it visibly.
    lines_.push_back(line.is_discarded() ? Json{{"event", "NOT JSON"}} : line);
  }
  return true;
}

std::optional<Json> NodeProcess::wait_for(const std::function<bool(const Json&)>& match,
                                          std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::size_t checked = 0;
  for (;;) {
    for (; checked < lines_.size(); ++checked) {
      if (match(lines_[checked])) return lines_[checked];
    }
    if (!read_more(deadline)) {
      if (Clock::now() >= deadline || stdout_fd_ < 0) {
        for (; checked < lines_.size(); ++checked) {
          if (match(lines_[checked])) return lines_[checked];
        }
        return std::nullopt;
      }
    }
  }
}

std::optional<Json> NodeProcess::wait_event(const std::string& event,
                                            std::chrono::milliseconds timeout) {
  return wait_for([&](const Json& line) { return line.value("event", "") == event; }, timeout);
}

std::optional<Json> NodeProcess::wait_processed(const std::string& message,
                                                std::chrono::milliseconds timeout) {
  return wait_for(
      [&](const Json& line) {
        return line.value("event", "") == "processed" && line.value("message", "") == message;
      },
      timeout);
}

void NodeProcess::write_line(const std::string& line) {
  const std::string data = line + "\n";
  if (::write(stdin_fd_, data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
    throw std::runtime_error("writing to the node's stdin failed");
  }
}

int NodeProcess::terminate(std::chrono::milliseconds timeout) {
  if (exit_code_) return *exit_code_;
  ::kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + timeout;
  while (read_more(deadline)) {
  }
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      return *exit_code_;
    }
    if (Clock::now() >= deadline) return -1;  // the destructor kills it
    ::usleep(10'000);
  }
}

std::size_t NodeProcess::count(const std::string& event, const std::string& message) const {
  std::size_t n = 0;
  for (const auto& line : lines_) {
    if (line.value("event", "") != event) continue;
    if (!message.empty() && line.value("message", "") != message) continue;
    ++n;
  }
  return n;
}

std::string NodeProcess::peer_arg() const {
  for (const auto& line : lines_) {
    if (line.value("event", "") == "ready") {
      return line["node_id"].get<std::string>() + "@" + line["addresses"][0].get<std::string>();
    }
  }
  return "";
}

std::string NodeProcess::metrics_address() const {
  for (const auto& line : lines_) {
    if (line.value("event", "") == "ready") return line.value("metrics", "");
  }
  return "";
}

std::optional<std::string> http_get(const std::string& address, const std::string& path) {
  const auto colon = address.rfind(':');
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
  if (::inet_pton(AF_INET, address.substr(0, colon).c_str(), &to.sin_addr) != 1) return {};
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      ssize_t count;
      while ((count = ::recv(fd, buffer, sizeof buffer, 0)) > 0) answer.append(buffer, count);
    }
  }
  ::close(fd);
  if (answer.compare(0, 12, "HTTP/1.1 200") != 0) return {};
  return answer.substr(answer.find("\r\n\r\n") + 4);
}

double prometheus_value(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.compare(0, name.size() + 1, name + " ") == 0) return std::stod(line.substr(name.size()));
  }
  return -1;
}

std::string NodeProcess::transcript() const {
  std::string out;
  for (const auto& line : lines_) out += line.dump() + "\n";
  return out;
}

}  // namespace p2panda::apps::test
