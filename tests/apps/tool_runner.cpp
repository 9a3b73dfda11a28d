#include "tool_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace p2panda::apps::test {
namespace {

struct Pipe {
  int read_end = -1;
  int write_end = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    read_end = fds[0];
    write_end = fds[1];
  }
};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

void write_all(int fd, const std::string& data) {
  std::size_t written = 0;
  while (written < data.size()) {
    const ssize_t count = ::write(fd, data.data() + written, data.size() - written);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) return;  // the tool closed stdin early; its exit code tells the rest
    written += static_cast<std::size_t>(count);
  }
}

// Reads stdout and stderr together, so neither pipe can fill up and block the tool.
void drain(int& out_fd, int& err_fd, std::string& out, std::string& err) {
  while (out_fd >= 0 || err_fd >= 0) {
    pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("poll failed");
    }
    for (int i = 0; i < 2; ++i) {
      int& fd = i == 0 ? out_fd : err_fd;
      std::string& sink = i == 0 ? out : err;
      if (fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t count = ::read(fd, buffer, sizeof buffer);
      if (count > 0) {
        sink.append(buffer, static_cast<std::size_t>(count));
      } else if (count == 0 || errno != EINTR) {
        close_fd(fd);
      }
    }
  }
}

}  // namespace

nlohmann::json ToolRun::json() const { return nlohmann::json::parse(out, nullptr, false); }

ToolRun run_tool(const std::vector<std::string>& args, const std::string& input) {
  std::vector<std::string> argv_strings{P2PANDA_TOOL};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);

  Pipe in, out, err;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read_end, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.write_end, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write_end, STDERR_FILENO);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close_fd(in.read_end);
  close_fd(out.write_end);
  close_fd(err.write_end);
  if (spawned != 0) throw std::runtime_error("cannot run " + argv_strings[0]);

  // Inputs are small (below the pipe buffer), so writing before reading cannot deadlock.
  write_all(in.write_end, input);
  close_fd(in.write_end);
  ToolRun run;
  drain(out.read_end, err.read_end, run.out, run.err);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/p2panda-apps-XXXXXX";
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void write_file(const std::string& path, const std::string& contents) {
  std::ofstream file(path, std::ios::binary);
  file << contents;
}

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

std::vector<std::string> b3_sign_args() {
  return {"op",         "sign",  "--key", kSeed,         "--topic",
          kZeroTopic,   "--seq", "0",     "--timestamp", "1700000000000000",
          "--body-hex", kB3Body};
}

std::vector<std::string> b3_prune_sign_args() {
  return {"op", "sign",       "--key", kSeed,         "--topic",          kZeroTopic, "--seq",
          "1",  "--backlink", kB3Id,   "--timestamp", "1700000000000001", "--prune"};
}

}  // namespace p2panda::apps::test
