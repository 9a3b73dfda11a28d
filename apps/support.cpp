// Helpers shared by the subcommands: error output, file input, keys and bodies from arguments.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <limits>

#include "commands.hpp"

namespace p2panda::apps {
namespace {

Unexpected io_error(const std::string& path, int error_number) {
  return fail(Errc::Io, path + ": " + std::strerror(error_number));
}

Result<std::string> read_stream(std::FILE* file, const std::string& path) {
  std::string contents;
  char buffer[64 * 1024];
  std::size_t count;
  while ((count = std::fread(buffer, 1, sizeof buffer, file)) > 0) contents.append(buffer, count);
  if (std::ferror(file)) return io_error(path, errno);
  return contents;
}

// Prefixes an error's message with where the input came from, keeping its code.
Unexpected with_context(const std::string& where, const Error& error) {
  return fail(error.code(), where + ": " + error.message());
}

}  // namespace

int usage_error(std::string_view message) {
  std::cerr << "p2panda: " << message << '\n';
  return kExitUsage;
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

Result<std::string> read_file(const std::string& path) {
  if (path == "-") return read_stream(stdin, "<stdin>");
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return io_error(path, errno);
  auto contents = read_stream(file, path);
  std::fclose(file);
  return contents;
}

Result<PrivateKey> load_key_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return Unexpected{std::move(text).error()};
  auto key = PrivateKey::from_hex(trim(*text));
  // The seed text is secret; do not leave it in freed memory.
  std::fill(text->begin(), text->end(), '\0');
  if (!key) return with_context(path, key.error());
  return key;
}

Result<void> write_secret_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return io_error(path, errno);
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t count = ::write(fd, text.data() + written, text.size() - written);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) {
      const int error_number = errno;
      ::close(fd);
      return io_error(path, error_number);
    }
    written += static_cast<std::size_t>(count);
  }
  if (::close(fd) != 0) return io_error(path, errno);
  return {};
}

Result<std::optional<Body>> load_body(const std::optional<std::string>& body_hex,
                                      const std::optional<std::string>& body_file) {
  if (body_hex && body_file) {
    return fail(Errc::InvalidArgument, "--body-hex and --body-file exclude each other");
  }
  Bytes bytes;
  if (body_hex) {
    auto decoded = from_hex(trim(*body_hex));
    if (!decoded) return with_context("--body-hex", decoded.error());
    bytes = std::move(*decoded);
  } else if (body_file) {
    auto contents = read_file(*body_file);
    if (!contents) return Unexpected{std::move(contents).error()};
    bytes.assign(contents->begin(), contents->end());
  } else {
    return std::optional<Body>();
  }
  // The header stores the payload size as a u32; a larger body cannot be described.
  if (bytes.size() > std::numeric_limits<std::uint32_t>::max()) {
    return fail(Errc::InvalidLength,
                "body of " + std::to_string(bytes.size()) + " bytes exceeds the u32 payload size");
  }
  return std::optional<Body>(Body(std::move(bytes)));
}

}  // namespace p2panda::apps
