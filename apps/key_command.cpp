// `p2panda key generate|show`: make an Ed25519 identity and read back its public key.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>

#include "commands.hpp"

namespace p2panda::apps {
namespace {

struct KeyOptions {
  std::string out;
  std::string file;
};

// Creates `path` with mode 0600 and writes `text`. O_EXCL: an existing file may be someone's only
// copy of a private key, so it is never overwritten.
Result<void> write_secret_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail(Errc::Io, path + ": " + std::strerror(errno));
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t count = ::write(fd, text.data() + written, text.size() - written);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) {
      const int error_number = errno;
      ::close(fd);
      return fail(Errc::Io, path + ": " + std::strerror(error_number));
    }
    written += static_cast<std::size_t>(count);
  }
  if (::close(fd) != 0) return fail(Errc::Io, path + ": " + std::strerror(errno));
  return {};
}

int run_generate(const KeyOptions& options) {
  const PrivateKey key = PrivateKey::generate();
  std::string seed = key.to_hex() + "\n";
  if (options.out.empty()) {
    std::cout << seed << std::flush;
  } else {
    auto written = write_secret_file(options.out, seed);
    if (!written) return usage_error(written.error().to_string());
    std::cout << key.public_key().to_hex() << '\n';
  }
  std::fill(seed.begin(), seed.end(), '\0');
  return kExitOk;
}

int run_show(const KeyOptions& options) {
  auto key = load_key_file(options.file);
  if (!key) return usage_error(key.error().to_string());
  std::cout << key->public_key().to_hex() << '\n';
  return kExitOk;
}

}  // namespace

void add_key_commands(CLI::App& app, Runner& runner) {
  CLI::App* key = app.add_subcommand("key", "Ed25519 identities");
  key->require_subcommand(1);
  auto options = std::make_shared<KeyOptions>();

  CLI::App* generate = key->add_subcommand(
      "generate", "Generate a key: its seed as hex to --out (mode 0600) or stdout");
  generate
      ->add_option("--out", options->out,
                   "Seed file to create (never overwritten); prints the public key")
      ->type_name("FILE");
  generate->callback([options, &runner] { runner = [options] { return run_generate(*options); }; });

  CLI::App* show = key->add_subcommand("show", "Print the public key of a seed file");
  show->add_option("file", options->file, "File holding the 32-byte seed as hex")
      ->required()
      ->type_name("FILE");
  show->callback([options, &runner] { runner = [options] { return run_show(*options); }; });
}

}  // namespace p2panda::apps
