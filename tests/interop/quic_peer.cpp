// quic_peer: command line of the interop/netns test peer (see quic_peer.hpp for exit codes and
// tests/interop/README.md for usage).
//
//   quic_peer serve --key-hex K --alpn A [--bind IP] [--port P] [--idle-timeout-ms T]
//   quic_peer dial  --addr IP:P --node-id ID --alpn A [--bytes N] [--key-hex K] [--timeout S]
//
// CLI11 reports parse errors as exceptions; they are caught here and become exit code 2.
#include <algorithm>
#include <iostream>
#include <mutex>

#include <CLI/CLI.hpp>

#include "net/transport.hpp"
#include "quic_peer.hpp"

namespace p2panda::interop {

namespace {
std::mutex output_mutex;
bool output_ended = false;
}  // namespace

void emit(const nlohmann::json& event) {
  std::lock_guard lock(output_mutex);
  if (!output_ended) std::cout << event.dump() << std::endl;
}

void end_output() {
  std::lock_guard lock(output_mutex);
  output_ended = true;
}

std::string alpn_text(const Bytes& alpn) {
  const bool printable =
      std::all_of(alpn.begin(), alpn.end(), [](std::uint8_t c) { return c >= 0x21 && c <= 0x7e; });
  std::string text(alpn.begin(), alpn.end());
  if (printable && !text.starts_with("hex:")) return text;
  return "hex:" + to_hex(alpn);
}

namespace {

struct UsageError {
  std::string message;
};

Bytes parse_alpn(const std::string& text) {
  if (text.starts_with("hex:")) {
    auto bytes = from_hex(text.substr(4));
    if (!bytes) throw UsageError{"--alpn: " + bytes.error().to_string()};
    return *bytes;
  }
  return Bytes(text.begin(), text.end());
}

PrivateKey parse_key(const std::string& text) {
  if (text.empty()) return PrivateKey::generate();
  auto key = PrivateKey::from_hex(text);
  if (!key) throw UsageError{"--key-hex: " + key.error().to_string()};
  return *key;
}

asio::ip::address parse_ip(const std::string& text, const char* what) {
  std::error_code ec;
  auto ip = asio::ip::make_address(text, ec);
  if (ec) throw UsageError{std::string(what) + ": not an IP address: " + text};
  return ip;
}

// "127.0.0.1:4433" or "[::1]:4433"; port 0 cannot be dialled.
net::SocketAddress parse_address(const std::string& text) {
  auto address = net::parse_socket_address(text);
  if (!address || address->port() == 0) throw UsageError{"--addr: expected IP:PORT, got " + text};
  return *address;
}

// A byte count with an optional binary suffix: "1048576", "64KiB", "20MiB", "1GiB".
std::uint64_t parse_size(const std::string& text) {
  std::size_t used = 0;
  std::uint64_t value = 0;
  try {
    value = std::stoull(text, &used);
  } catch (const std::exception&) {
    throw UsageError{"--bytes: not a size: " + text};
  }
  const std::string suffix = text.substr(used);
  if (suffix == "KiB") return value << 10;
  if (suffix == "MiB") return value << 20;
  if (suffix == "GiB") return value << 30;
  if (!suffix.empty()) throw UsageError{"--bytes: unknown suffix in " + text};
  return value;
}

// The options both modes share.
struct Common {
  std::string key_hex;
  std::string alpn;
  std::uint64_t idle_timeout_ms = 30'000;
  std::uint64_t handshake_timeout_ms = 10'000;

  void add_to(CLI::App& command) {
    command.add_option("--key-hex", key_hex, "Ed25519 seed, 64 hex digits (random if absent)");
    command.add_option("--alpn", alpn, "ALPN as text, or bytes as hex:...")->required();
    command.add_option("--idle-timeout-ms", idle_timeout_ms,
                       "drop a connection after this long without packets from the peer");
    command.add_option("--handshake-timeout-ms", handshake_timeout_ms);
  }

  net::EndpointConfig endpoint(const asio::ip::address& bind_ip, std::uint16_t port) const {
    net::EndpointConfig config;
    config.key = parse_key(key_hex);
    config.transport.idle_timeout = std::chrono::milliseconds(idle_timeout_ms);
    config.transport.handshake_timeout = std::chrono::milliseconds(handshake_timeout_ms);
    if (bind_ip.is_v6()) {
      // The endpoint always binds IPv4; a v6 socket is extra.
      config.bind_v6 = net::SocketAddress(bind_ip, port);
    } else {
      config.bind_v4 = net::SocketAddress(bind_ip, port);
    }
    return config;
  }
};

int run(int argc, char** argv) {
  CLI::App app("quic_peer: a QUIC peer on p2panda-cpp's net::Endpoint for interop tests",
               "quic_peer");
  app.require_subcommand(1);

  Common serve_common;
  std::string serve_bind = "127.0.0.1";
  std::uint16_t serve_port = 0;
  std::uint64_t lifetime_s = 300;
  auto* serve = app.add_subcommand("serve", "echo (or sink-and-hash) every bidirectional stream");
  serve_common.add_to(*serve);
  serve->add_option("--bind", serve_bind, "local IP address");
  serve->add_option("--port", serve_port, "UDP port (0: any free one)");
  serve->add_option("--lifetime-s", lifetime_s, "fail if not stopped within this many seconds");

  Common dial_common;
  std::string dial_addr, dial_node, dial_bytes, dial_bind;
  std::size_t echo_bytes = 4096;
  std::uint64_t timeout_s = 30;
  auto* dial = app.add_subcommand("dial", "connect, verify the key, echo or transfer");
  dial_common.add_to(*dial);
  dial->add_option("--addr", dial_addr, "IP:PORT of the server")->required();
  dial->add_option("--node-id", dial_node, "the server's node id, 64 hex digits")->required();
  dial->add_option("--bytes", dial_bytes, "send this many bytes for a hash reply (e.g. 20MiB)");
  dial->add_option("--echo-bytes", echo_bytes, "size of the echo round trip (without --bytes)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{256} << 10));
  dial->add_option("--bind", dial_bind, "local IP (default: 127.0.0.1 for loopback, else any)");
  dial->add_option("--timeout", timeout_s, "give up (exit 5) after this many seconds");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? kExitOk : kExitUsage;
  }

  try {
    if (serve->parsed()) {
      ServeOptions options{serve_common.endpoint(parse_ip(serve_bind, "--bind"), serve_port),
                           parse_alpn(serve_common.alpn), std::chrono::seconds(lifetime_s)};
      return run_serve(std::move(options));
    }
    DialOptions options;
    options.address = parse_address(dial_addr);
    auto node_id = PublicKey::from_hex(dial_node);
    if (!node_id) throw UsageError{"--node-id: " + node_id.error().to_string()};
    options.node_id = *node_id;
    options.alpn = parse_alpn(dial_common.alpn);
    if (!dial_bytes.empty()) options.bytes = parse_size(dial_bytes);
    options.echo_bytes = echo_bytes;
    options.timeout = std::chrono::seconds(timeout_s);
    const auto& target = options.address.address();
    asio::ip::address bind_ip;
    if (!dial_bind.empty()) {
      bind_ip = parse_ip(dial_bind, "--bind");
    } else if (target.is_v6()) {
      bind_ip = target.is_loopback() ? asio::ip::address(asio::ip::address_v6::loopback())
                                     : asio::ip::address(asio::ip::address_v6::any());
    } else {
      bind_ip = target.is_loopback() ? asio::ip::address(asio::ip::address_v4::loopback())
                                     : asio::ip::address(asio::ip::address_v4::any());
    }
    options.endpoint = dial_common.endpoint(bind_ip, 0);
    return run_dial(std::move(options));
  } catch (const UsageError& error) {
    emit(
        {{"event", "error"}, {"phase", "usage"}, {"message", error.message}, {"exit", kExitUsage}});
    return kExitUsage;
  }
}

}  // namespace
}  // namespace p2panda::interop

int main(int argc, char** argv) { return p2panda::interop::run(argc, argv); }
