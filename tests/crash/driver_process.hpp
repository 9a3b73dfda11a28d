// DriverProcess: a child process (the crash driver) whose stdout the test reads line by line.
// The destructor kills and reaps the child, so no driver outlives a failed assertion. Used by the
// test's thread only.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

extern char** environ;

namespace p2panda::test {

class DriverProcess {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Read { Line, Eof, Timeout, Error };

  // Starts argv[0] with stdout piped to us; stderr is shared with the test. Returns nullptr and
  // sets `error` when the pipe or the process cannot be created.
  static std::unique_ptr<DriverProcess> spawn(const std::vector<std::string>& argv,
                                              std::string& error) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      error = std::string("pipe2: ") + std::strerror(errno);
      return nullptr;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);  // clears O_CLOEXEC
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    const int spawned = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);  // the child holds the only write end, so its death gives us EOF
    if (spawned != 0) {
      ::close(fds[0]);
      error = "posix_spawn " + argv[0] + ": " + std::strerror(spawned);
      return nullptr;
    }
    return std::unique_ptr<DriverProcess>(new DriverProcess(pid, fds[0]));
  }

  DriverProcess(const DriverProcess&) = delete;
  DriverProcess& operator=(const DriverProcess&) = delete;
  ~DriverProcess() {
    if (pid_ > 0) kill_and_wait();
    ::close(fd_);
  }

  // The next complete line (without '\n'), waiting until `deadline`.
  Read read_line(std::string& line, Clock::time_point deadline) {
    while (true) {
      if (auto end = buffer_.find('\n'); end != std::string::npos) {
        line = buffer_.substr(0, end);
        buffer_.erase(0, end + 1);
        return Read::Line;
      }
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return Read::Timeout;
      pollfd poll_fd{fd_, POLLIN, 0};
      const int ready = ::poll(&poll_fd, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return Read::Error;
      if (ready == 0) return Read::Timeout;
      char chunk[8192];
      const ssize_t got = ::read(fd_, chunk, sizeof chunk);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return Read::Error;
      if (got == 0) return Read::Eof;
      buffer_.append(chunk, static_cast<std::size_t>(got));
    }
  }

  // Bytes after the last complete line (non-empty only if a line was torn).
  const std::string& partial() const { return buffer_; }

  // SIGKILL (harmless if it already exited), then reaps it. Returns the wait status; calling it
  // again returns the same status and signals nothing.
  int kill_and_wait() {
    if (pid_ <= 0) return status_;
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status_;
  }

 private:
  DriverProcess(pid_t pid, int fd) : pid_(pid), fd_(fd) {}

  pid_t pid_;  // -1 once reaped
  int fd_;
  int status_ = 0;
  std::string buffer_;
};

}  // namespace p2panda::test
