// A tiny HTTP/1.1 server and client for the metrics endpoint (`node --metrics`) and `status`.
//
// The server answers one request per connection (Connection: close), one connection at a time,
// on its own thread: metrics scrapes are rare and small, and a slow client is cut off after
// kIoTimeout. Requests are bounded (kMaxRequest bytes up to the blank line); anything but GET is
// answered 405, an unknown path 404, an oversized or garbled request 400.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "net_args.hpp"

namespace p2panda::apps {

inline constexpr std::size_t kMaxRequest = 8192;
inline constexpr std::chrono::milliseconds kIoTimeout{2000};

struct HttpResponse {
  std::string content_type;
  std::string body;
};
// Answers a GET of `path` (without query); nullopt: 404. Runs on the server's thread.
using HttpHandler = std::function<std::optional<HttpResponse>(const std::string& path)>;

class HttpServer {
 public:
  // Listens on `at` (port 0: any free port). Errors: Io (socket, bind, listen).
  static Result<std::unique_ptr<HttpServer>> start(const HostPort& at, HttpHandler handler);
  ~HttpServer();  // stops accepting and joins the thread
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  const HostPort& address() const { return address_; }  // with the port actually bound

 private:
  HttpServer(int fd, HostPort address, HttpHandler handler);
  void run();
  void answer(int client);

  int fd_;
  HostPort address_;
  HttpHandler handler_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// GETs `path` from `at`; returns the body of a 200 answer. Errors: Io (cannot connect, timeout,
// another status: the message says which).
Result<std::string> http_get(const HostPort& at, const std::string& path,
                             std::chrono::milliseconds timeout);

}  // namespace p2panda::apps
