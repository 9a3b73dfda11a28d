// UdpRelay: a datagram forwarder on 127.0.0.1 between one client and one server, with a switch
// that silently drops everything in both directions (a dead path or a peer whose packets vanish,
// without destroying its endpoint), and a seeded random loss rate. Runs its own thread.
#pragma once

#include <atomic>
#include <optional>
#include <random>
#include <thread>

#include "net/asio.hpp"

namespace p2panda::net::test {

class UdpRelay {
 public:
  explicit UdpRelay(SocketAddress server)
      : server_(server),
        front_(io_, SocketAddress(asio::ip::address_v4::loopback(), 0)),
        back_(io_, SocketAddress(asio::ip::address_v4::loopback(), 0)) {
    receive_front();
    receive_back();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~UdpRelay() {
    io_.stop();
    thread_.join();
  }

  // Where the client dials.
  SocketAddress address() const { return front_.local_endpoint(); }
  void drop_everything() { dropping_ = true; }
  // Drops what the server sends until switched off again (a lost reply); the client's datagrams
  // still go through.
  void drop_from_server(bool on) { dropping_from_server_ = on; }
  // Drops each datagram, in either direction, with this probability, from the relay's thread.
  void set_loss(double probability, std::uint32_t seed) {
    asio::post(io_, [this, probability, seed] {
      random_.seed(seed);
      loss_ = probability;
    });
  }
  std::uint64_t dropped() const { return dropped_; }

 private:
  void receive_front() {
    front_.async_receive_from(asio::buffer(front_buffer_), client_from_,
                              [this](std::error_code ec, std::size_t n) {
                                if (ec) return;
                                client_ = client_from_;
                                if (!drop()) forward(back_, server_, front_buffer_, n);
                                receive_front();
                              });
  }
  void receive_back() {
    back_.async_receive_from(asio::buffer(back_buffer_), server_from_,
                             [this](std::error_code ec, std::size_t n) {
                               if (ec) return;
                               if (dropping_from_server_) {
                                 ++dropped_;
                               } else if (!drop() && client_) {
                                 forward(front_, *client_, back_buffer_, n);
                               }
                               receive_back();
                             });
  }
  bool drop() {  // on the relay's thread only
    bool lost = dropping_ || (loss_ > 0 && std::uniform_real_distribution<>(0, 1)(random_) < loss_);
    if (lost) ++dropped_;
    return lost;
  }
  static void forward(asio::ip::udp::socket& socket, const SocketAddress& to,
                      const std::array<std::uint8_t, 65536>& buffer, std::size_t n) {
    std::error_code ignored;
    socket.send_to(asio::buffer(buffer.data(), n), to, 0, ignored);
  }

  asio::io_context io_;
  SocketAddress server_;
  asio::ip::udp::socket front_;  // faces the client
  asio::ip::udp::socket back_;   // faces the server
  std::array<std::uint8_t, 65536> front_buffer_{};
  std::array<std::uint8_t, 65536> back_buffer_{};
  SocketAddress client_from_;
  SocketAddress server_from_;
  std::optional<SocketAddress> client_;
  std::atomic<bool> dropping_{false};
  std::atomic<bool> dropping_from_server_{false};
  std::atomic<double> loss_{0};
  std::mt19937 random_;
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace p2panda::net::test
