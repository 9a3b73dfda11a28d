#include "net_args.hpp"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "commands.hpp"

namespace p2panda::apps {
namespace {

bool is_ip(const std::string& host) {
  unsigned char buffer[16];
  return ::inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

}  // namespace

Topic parse_topic(std::string_view text) {
  if (text.size() == 64) {
    if (auto topic = Topic::from_hex(text)) return *topic;
  }
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(text.data());
  return Topic(Hash::digest(ByteSpan(bytes, text.size())).array());
}

std::string HostPort::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<HostPort> parse_host_port(std::string_view text) {
  auto invalid = [&] {
    return fail(Errc::InvalidArgument,
                "'" + std::string(text) + "' is not HOST:PORT (an IP address and a port)");
  };
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return invalid();
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return invalid();
    host = host.substr(1, host.size() - 2);
  }
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (error != std::errc() || end != port_text.data() + port_text.size() || port > 65535 ||
      port_text.empty()) {
    return invalid();
  }
  HostPort out{std::string(host), static_cast<std::uint16_t>(port)};
  if (!is_ip(out.host)) return invalid();
  return out;
}

Result<PeerArg> parse_peer(std::string_view text) {
  const auto at = text.find('@');
  if (at == std::string_view::npos) {
    return fail(Errc::InvalidArgument, "'" + std::string(text) + "' is not ID@HOST:PORT");
  }
  auto id = NodeId::from_hex(text.substr(0, at));
  if (!id) return fail(id.error().code(), "peer id: " + id.error().message());
  auto address = parse_host_port(text.substr(at + 1));
  if (!address) return Unexpected{std::move(address).error()};
  return PeerArg{*id, *address};
}

Result<PrivateKey> load_or_create_key(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0) return load_key_file(path);
  const PrivateKey key = PrivateKey::generate();
  std::string seed = key.to_hex() + "\n";
  auto written = write_secret_file(path, seed);
  std::fill(seed.begin(), seed.end(), '\0');
  if (!written) {
    // Another process may have created it in between: use theirs.
    if (::stat(path.c_str(), &info) == 0) return load_key_file(path);
    return Unexpected{std::move(written).error()};
  }
  return key;
}

}  // namespace p2panda::apps
