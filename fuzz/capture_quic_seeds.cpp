// Writes the seed corpus of fuzz_quic_receive: a real client handshake with a server endpoint on
// 127.0.0.1, through a relay that records the datagrams the client sends. Seeds (in the target's
// input format, see fuzz_quic_receive.cpp): the client's first Initial, as captured and cut short
// at a few lengths; the whole client flight of the handshake; and the Initial's decrypted frames
// (its ClientHello), whole and split across two Initials. Run from `fuzz/make_seeds.sh`'s
// directory: capture_quic_seeds DIR. The seeds are committed; rerun this only to change them.
#include <cstdio>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include <p2panda/ids.hpp>

#include "net/endpoint.hpp"
#include "quic_initial.hpp"

namespace {

using namespace p2panda;
using net::SocketAddress;
using Udp = asio::ip::udp;

// Forwards datagrams between one client and `server`, keeping a copy of each the client sends.
class RecordingRelay {
 public:
  explicit RecordingRelay(SocketAddress server) : server_(server) {
    receive(front_, front_buffer_, true);
    receive(back_, back_buffer_, false);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~RecordingRelay() {
    io_.stop();
    thread_.join();
  }
  SocketAddress address() const { return front_.local_endpoint(); }
  std::vector<Bytes> recorded() {
    std::lock_guard lock(mutex_);
    return recorded_;
  }

 private:
  void receive(Udp::socket& socket, std::array<std::uint8_t, 65536>& buffer, bool from_client) {
    socket.async_receive_from(
        asio::buffer(buffer), from_, [this, &socket, &buffer, from_client](auto ec, std::size_t n) {
          if (ec) return;
          std::error_code ignored;
          if (from_client) {
            client_ = from_;
            std::lock_guard lock(mutex_);
            recorded_.emplace_back(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
            back_.send_to(asio::buffer(buffer.data(), n), server_, 0, ignored);
          } else {
            front_.send_to(asio::buffer(buffer.data(), n), client_, 0, ignored);
          }
          receive(socket, buffer, from_client);
        });
  }

  asio::io_context io_;
  SocketAddress server_;
  Udp::socket front_{io_, SocketAddress(asio::ip::address_v4::loopback(), 0)};
  Udp::socket back_{io_, SocketAddress(asio::ip::address_v4::loopback(), 0)};
  std::array<std::uint8_t, 65536> front_buffer_{};
  std::array<std::uint8_t, 65536> back_buffer_{};
  SocketAddress from_;
  SocketAddress client_;
  std::mutex mutex_;
  std::vector<Bytes> recorded_;
  std::thread thread_;
};

// The server side: echoes one bidirectional stream.
net::Awaitable<void> echo(net::Connection connection) {
  auto stream = co_await connection.accept_bi();
  if (!stream) co_return;
  auto data = co_await stream->read_to_end(1024);
  if (!data) co_return;
  auto written = co_await stream->write(*data);
  if (!written) co_return;
  auto finished = co_await stream->finish();
  (void)finished;
}

// The client side: a handshake and one echoed stream, so that the relay sees the client's whole
// handshake flight and some 1-RTT packets, not only its first Initial.
net::Awaitable<void> connect_once(net::Endpoint* client, SocketAddress relay, PublicKey server,
                                  Bytes alpn, std::promise<bool>* done) {
  auto connected = co_await client->connect(relay, server, std::move(alpn));
  bool ok = false;
  if (connected) {
    auto stream = co_await connected->open_bi();
    if (stream) {
      const Bytes hello{'h', 'e', 'l', 'l', 'o'};
      auto written = co_await stream->write(hello);
      auto finished = co_await stream->finish();
      auto reply = co_await stream->read_to_end(1024);
      ok = written && finished && reply && *reply == hello;
    }
    connected->close(0, "captured");
  }
  done->set_value(ok);
}

void put_u16(Bytes& out, std::size_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8));
  out.push_back(static_cast<std::uint8_t>(value));
}

// A raw-mode input: sender byte 0 (127.0.0.1), then each datagram with its length.
Bytes raw_input(const std::vector<ByteSpan>& datagrams) {
  Bytes input{0x00};
  for (ByteSpan datagram : datagrams) {
    put_u16(input, datagram.size());
    input.insert(input.end(), datagram.begin(), datagram.end());
  }
  return input;
}

// A sealed-mode input: a 16-byte dcid (the length our clients use), payload split at `split`.
// `mode` 0x21 sends it to the endpoint that validates addresses (a Retry first).
Bytes sealed_input(ByteSpan payload, std::size_t split, std::uint8_t mode = 0x01) {
  Bytes input{mode, 16, 0x42};
  put_u16(input, split);
  input.insert(input.end(), payload.begin(), payload.end());
  return input;
}

bool write_seed(const std::string& dir, const std::string& name, const Bytes& input) {
  std::ofstream out(dir + "/" + name, std::ios::binary);
  out.write(reinterpret_cast<const char*>(input.data()),
            static_cast<std::streamsize>(input.size()));
  std::printf("%s: %zu bytes\n", name.c_str(), input.size());
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: capture_quic_seeds DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  const Bytes alpn = protocol_alpn("p2panda/log_sync/v1", NetworkId::default_id());
  auto server = net::Endpoint::bind({});
  auto client = net::Endpoint::bind({});
  if (!server || !client) return 1;
  server->register_protocol(alpn, echo);
  std::vector<Bytes> recorded;
  {
    RecordingRelay relay(server->local_address());
    std::promise<bool> done;
    auto future = done.get_future();
    asio::co_spawn(client->executor(),
                   connect_once(&*client, relay.address(), server->node_id(), alpn, &done),
                   asio::detached);
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready || !future.get()) {
      std::fprintf(stderr, "handshake or echo failed\n");
      return 1;
    }
    recorded = relay.recorded();
  }
  if (recorded.empty()) return 1;
  const Bytes& initial = recorded.front();
  auto opened = fuzz::open_initial(initial);
  if (!opened) {
    std::fprintf(stderr, "could not decrypt the captured Initial\n");
    return 1;
  }
  // The frames without the trailing PADDING (zero bytes); the target pads again.
  Bytes frames = opened->payload;
  while (!frames.empty() && frames.back() == 0) frames.pop_back();
  // What seal_initial protects, open_initial must read back: checks quic_initial.cpp.
  auto resealed = fuzz::open_initial(fuzz::seal_initial(*opened));
  if (!resealed || resealed->payload != opened->payload || resealed->dcid != opened->dcid) {
    std::fprintf(stderr, "sealing and opening again do not agree\n");
    return 1;
  }
  bool ok = write_seed(dir, "initial", raw_input({initial}));
  for (std::size_t cut : {std::size_t{1199}, std::size_t{600}, std::size_t{40}, std::size_t{6}}) {
    ok &= write_seed(dir, "initial_cut_" + std::to_string(cut),
                     raw_input({ByteSpan(initial).first(std::min(cut, initial.size()))}));
  }
  std::vector<ByteSpan> flight(
      recorded.begin(), recorded.begin() + std::min<std::ptrdiff_t>(4, std::ssize(recorded)));
  ok &= write_seed(dir, "client_flight", raw_input(flight));
  ok &= write_seed(dir, "client_hello", sealed_input(frames, 0));
  ok &= write_seed(dir, "client_hello_split", sealed_input(frames, frames.size() / 2));
  ok &= write_seed(dir, "client_hello_after_retry", sealed_input(frames, 0, 0x21));
  return ok ? 0 : 1;
}
