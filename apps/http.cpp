#include "http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace p2panda::apps {
namespace {

Unexpected os_error(const std::string& what) {
  return fail(Errc::Io, what + ": " + std::strerror(errno));
}

// A sockaddr for `at`; false when the host is not an IP address.
bool to_sockaddr(const HostPort& at, sockaddr_storage& out, socklen_t& length) {
  std::memset(&out, 0, sizeof out);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  if (::inet_pton(AF_INET, at.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(at.port);
    length = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (::inet_pton(AF_INET6, at.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(at.port);
    length = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

void set_timeouts(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t count = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) return false;
    sent += static_cast<std::size_t>(count);
  }
  return true;
}

std::string response(int status, const std::string& reason, const std::string& type,
                     const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         body;
}

std::string plain(int status, const std::string& reason) {
  return response(status, reason, "text/plain; charset=utf-8", reason + "\n");
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HostPort& at, HttpHandler handler) {
  sockaddr_storage address;
  socklen_t length = 0;
  if (!to_sockaddr(at, address, length)) {
    return fail(Errc::InvalidArgument, "not an IP address: " + at.host);
  }
  const int fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return os_error("socket");
  const int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 || ::listen(fd, 16) != 0) {
    auto error = os_error("metrics " + at.to_string());
    ::close(fd);
    return error;
  }
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  HostPort bound = at;
  bound.port = ntohs(address.ss_family == AF_INET
                         ? reinterpret_cast<sockaddr_in*>(&address)->sin_port
                         : reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
  return std::unique_ptr<HttpServer>(new HttpServer(fd, bound, std::move(handler)));
}

HttpServer::HttpServer(int fd, HostPort address, HttpHandler handler)
    : fd_(fd), address_(std::move(address)), handler_(std::move(handler)) {
  thread_ = std::thread([this] { run(); });
}

HttpServer::~HttpServer() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
}

void HttpServer::run() {
  // Polls with a short timeout so that the destructor's stop flag is seen without a wake-up fd.
  while (!stop_) {
    pollfd listening{fd_, POLLIN, 0};
    if (::poll(&listening, 1, 100) <= 0) continue;
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    set_timeouts(client, kIoTimeout);
    answer(client);
    ::close(client);
  }
}

void HttpServer::answer(int client) {
  std::string request;
  char buffer[1024];
  while (request.find("\r\n\r\n") == std::string::npos) {
    if (request.size() > kMaxRequest) {
      send_all(client, plain(400, "Bad Request"));
      return;
    }
    const ssize_t count = ::recv(client, buffer, sizeof buffer, 0);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) return;  // gone or too slow: nothing to answer
    request.append(buffer, static_cast<std::size_t>(count));
  }
  // Request line: METHOD SP TARGET SP HTTP-VERSION.
  const std::string line = request.substr(0, request.find("\r\n"));
  const auto first = line.find(' ');
  const auto second = first == std::string::npos ? first : line.find(' ', first + 1);
  if (second == std::string::npos || line.compare(second + 1, 5, "HTTP/") != 0) {
    send_all(client, plain(400, "Bad Request"));
    return;
  }
  if (line.compare(0, first, "GET") != 0) {
    send_all(client, plain(405, "Method Not Allowed"));
    return;
  }
  std::string path = line.substr(first + 1, second - first - 1);
  path = path.substr(0, path.find('?'));
  auto found = handler_(path);
  if (!found) {
    send_all(client, plain(404, "Not Found"));
    return;
  }
  send_all(client, response(200, "OK", found->content_type, found->body));
}

Result<std::string> http_get(const HostPort& at, const std::string& path,
                             std::chrono::milliseconds timeout) {
  sockaddr_storage address;
  socklen_t length = 0;
  if (!to_sockaddr(at, address, length)) {
    return fail(Errc::InvalidArgument, "not an IP address: " + at.host);
  }
  const int fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return os_error("socket");
  set_timeouts(fd, timeout);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    return os_error("cannot connect to " + at.to_string());
  }
  if (!send_all(fd, "GET " + path + " HTTP/1.1\r\nHost: " + at.to_string() +
                        "\r\nConnection: close\r\n\r\n")) {
    return os_error("sending to " + at.to_string());
  }
  std::string answer;
  char buffer[4096];
  for (;;) {
    const ssize_t count = ::recv(fd, buffer, sizeof buffer, 0);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) return os_error("reading from " + at.to_string());
    if (count == 0) break;
    answer.append(buffer, static_cast<std::size_t>(count));
  }
  const auto header_end = answer.find("\r\n\r\n");
  if (answer.compare(0, 9, "HTTP/1.1 ") != 0 || header_end == std::string::npos) {
    return fail(Errc::Io, at.to_string() + " did not answer HTTP");
  }
  const std::string status = answer.substr(9, answer.find("\r\n") - 9);
  if (status.compare(0, 3, "200") != 0) {
    return fail(Errc::Io, at.to_string() + path + " answered " + status);
  }
  return answer.substr(header_end + 4);
}

}  // namespace p2panda::apps
