// `p2panda key generate|show`: make an Ed25519 identity and read back its public key.
#include <algorithm>
#include <iostream>
#include <memory>

#include "commands.hpp"

namespace p2panda::apps {
namespace {

struct KeyOptions {
  std::string out;
  std::string file;
};

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
