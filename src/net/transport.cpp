#include "net/transport.hpp"

#include <algorithm>
#include <array>
#include <string>

namespace p2panda::net {

Result<void> close_result(const CloseInfo& info) {
  bool graceful = info.kind == CloseInfo::Kind::Local || info.kind == CloseInfo::Kind::Peer;
  if (graceful && info.code == 0) return {};
  return fail(close_errc(info), info.to_string());
}

Result<SocketAddress> parse_socket_address(std::string_view text) {
  const auto bad = [&] {
    return fail(Errc::InvalidArgument, "address \"" + std::string(text) + "\" is not ip:port");
  };
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) return bad();
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  asio::error_code error;
  const auto ip = asio::ip::make_address(std::string(host), error);
  unsigned port = 0;
  for (char c : text.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) return bad();
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (error || port > 65535) return bad();
  return SocketAddress(ip, static_cast<std::uint16_t>(port));
}

std::string format_socket_address(const SocketAddress& address) {
  const std::string ip = address.address().to_string();
  const std::string port = std::to_string(address.port());
  return address.address().is_v6() ? "[" + ip + "]:" + port : ip + ":" + port;
}

Awaitable<Result<void>> read_exact(TransportStream& stream, std::span<std::uint8_t> buffer) {
  std::size_t filled = 0;
  while (filled < buffer.size()) {
    auto got = co_await stream.read_some(buffer.subspan(filled));
    if (!got) co_return Unexpected{got.error()};
    if (*got == 0) {
      co_return fail(Errc::InvalidLength, "stream ended after " + std::to_string(filled) + " of " +
                                              std::to_string(buffer.size()) + " bytes");
    }
    filled += *got;
  }
  co_return Result<void>{};
}

Awaitable<Result<void>> write_frame(TransportStream& stream, ByteSpan frame) {
  if (frame.size() > 0xffffffffu) co_return fail(Errc::InvalidLength, "frame over 4 GiB");
  auto size = static_cast<std::uint32_t>(frame.size());
  // One write for header and payload keeps small frames in one packet.
  Bytes wire(4 + frame.size());
  wire[0] = static_cast<std::uint8_t>(size >> 24);
  wire[1] = static_cast<std::uint8_t>(size >> 16);
  wire[2] = static_cast<std::uint8_t>(size >> 8);
  wire[3] = static_cast<std::uint8_t>(size);
  std::copy(frame.begin(), frame.end(), wire.begin() + 4);
  auto written = co_await stream.write(wire);
  co_return written;
}

Awaitable<Result<std::optional<Bytes>>> read_frame(TransportStream& stream, std::size_t limit) {
  std::array<std::uint8_t, 4> header{};
  // The first byte tells a clean end of stream (0 bytes) from one inside the header.
  auto first = co_await stream.read_some(std::span(header).first(1));
  if (!first) co_return Unexpected{first.error()};
  if (*first == 0) co_return std::optional<Bytes>{};
  auto rest = co_await read_exact(stream, std::span(header).subspan(1));
  if (!rest) co_return Unexpected{rest.error()};
  std::size_t size = (std::size_t{header[0]} << 24) | (std::size_t{header[1]} << 16) |
                     (std::size_t{header[2]} << 8) | std::size_t{header[3]};
  if (size > limit) {
    co_return fail(Errc::InvalidLength, "frame of " + std::to_string(size) +
                                            " bytes is over the limit of " + std::to_string(limit));
  }
  Bytes payload(size);
  auto body = co_await read_exact(stream, payload);
  if (!body) co_return Unexpected{body.error()};
  co_return std::optional<Bytes>{std::move(payload)};
}

}  // namespace p2panda::net
