// `p2panda op sign|inspect`: make Node API operations (valid or deliberately not) and examine them.
//
// `sign` only parses its inputs; it never refuses an operation that breaks a rule, because making
// invalid operations for tests is one of its uses. It warns on stderr instead.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <iostream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <p2panda/extensions.hpp>

#include "commands.hpp"

namespace p2panda::apps {
namespace {

struct SignOptions {
  std::string key;
  std::string topic;
  std::string seq;
  std::optional<std::string> backlink;
  std::string timestamp;
  bool prune = false;
  std::optional<std::string> body_hex;
  std::optional<std::string> body_file;
};

struct InspectOptions {
  std::string header;
  std::optional<std::string> body_hex;
  std::optional<std::string> body_file;
};

// Decimal digits only: no sign, no spaces, no overflow.
template <class T>
Result<T> parse_uint(std::string_view name, std::string_view text) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || ptr != end) {
    return fail(Errc::InvalidArgument, std::string(name) + " must be an integer from 0 to " +
                                           std::to_string(std::numeric_limits<T>::max()) +
                                           ", got \"" + std::string(text) + "\"");
  }
  return value;
}

template <class T>
Result<T> parse_fixed(std::string_view name, std::string_view text) {
  auto value = T::from_hex(text);
  if (!value) {
    return fail(value.error().code(), std::string(name) + ": " + value.error().message());
  }
  return value;
}

bool is_seed_hex(std::string_view text) {
  if (text.size() != 2 * 32) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

// --key is the seed itself when it looks like one, otherwise the path of a seed file.
Result<PrivateKey> load_key(const std::string& seed_or_path) {
  if (is_seed_hex(seed_or_path)) return PrivateKey::from_hex(seed_or_path);
  return load_key_file(seed_or_path);
}

Result<NodeOperationArgs> parse_sign_args(const SignOptions& options) {
  NodeOperationArgs args;
  auto topic = parse_fixed<Topic>("--topic", options.topic);
  if (!topic) return Unexpected{std::move(topic).error()};
  args.topic = *topic;
  auto seq = parse_uint<std::uint32_t>("--seq", options.seq);
  if (!seq) return Unexpected{std::move(seq).error()};
  args.seq_num = SeqNum(*seq);
  if (options.backlink) {
    auto backlink = parse_fixed<Hash>("--backlink", *options.backlink);
    if (!backlink) return Unexpected{std::move(backlink).error()};
    args.backlink = *backlink;
  }
  auto timestamp = parse_uint<std::uint64_t>("--timestamp", options.timestamp);
  if (!timestamp) return Unexpected{std::move(timestamp).error()};
  args.timestamp = Timestamp(*timestamp);
  args.prune = options.prune;
  auto body = load_body(options.body_hex, options.body_file);
  if (!body) return Unexpected{std::move(body).error()};
  args.body = std::move(*body);
  return args;
}

int run_sign(const SignOptions& options) {
  auto key = load_key(options.key);
  if (!key) return usage_error("--key: " + key.error().to_string());
  auto args = parse_sign_args(options);
  if (!args) return usage_error(args.error().to_string());

  const Operation operation = create_node_operation(*key, std::move(*args));
  if (auto valid = validate_header(operation.header()); !valid) {
    std::cerr << "p2panda: warning: the operation breaks a rule: " << valid.error().to_string()
              << '\n';
  }
  nlohmann::ordered_json out;
  out["header"] = to_hex(operation.header_bytes());
  out["id"] = operation.id().to_hex();
  const auto& body = operation.body();
  out["body"] = body ? nlohmann::ordered_json(to_hex(body->bytes())) : nullptr;
  std::cout << out.dump() << '\n';
  return kExitOk;
}

void add_body_options(CLI::App& command, std::optional<std::string>& body_hex,
                      std::optional<std::string>& body_file) {
  CLI::Option* hex =
      command.add_option("--body-hex", body_hex, "Body bytes as hex")->type_name("HEX");
  CLI::Option* file = command.add_option("--body-file", body_file, "File holding the body bytes")
                          ->type_name("PATH");
  hex->excludes(file);
}

void add_sign(CLI::App& op, Runner& runner) {
  auto options = std::make_shared<SignOptions>();
  CLI::App* sign = op.add_subcommand(
      "sign", "Sign a Node API operation and print {\"header\", \"id\", \"body\"} as JSON");
  sign->add_option("--key", options->key, "Seed as 64 hex characters, or a seed file")
      ->required()
      ->type_name("SEED|FILE");
  sign->add_option("--topic", options->topic, "Topic, 32 bytes as hex")
      ->required()
      ->type_name("HEX");
  sign->add_option("--seq", options->seq, "Sequence number (u32)")->required()->type_name("N");
  sign->add_option("--backlink", options->backlink, "Id of the previous operation, as hex")
      ->type_name("HEX");
  sign->add_option("--timestamp", options->timestamp, "Microseconds since the UNIX epoch (u64)")
      ->required()
      ->type_name("MICROS");
  sign->add_flag("--prune", options->prune, "Set the prune flag");
  add_body_options(*sign, options->body_hex, options->body_file);
  sign->callback([options, &runner] { runner = [options] { return run_sign(*options); }; });
}

void add_inspect(CLI::App& op, Runner& runner) {
  auto options = std::make_shared<InspectOptions>();
  CLI::App* inspect = op.add_subcommand(
      "inspect", "Decode and validate an operation; exit 0 valid, 1 breaks a rule, 2 undecodable");
  inspect->add_option("header", options->header, "Header bytes as hex, or - to read stdin")
      ->required()
      ->type_name("HEX|-");
  add_body_options(*inspect, options->body_hex, options->body_file);
  inspect->callback([options, &runner] {
    runner = [options] {
      return run_op_inspect(options->header, options->body_hex, options->body_file);
    };
  });
}

}  // namespace

void add_op_commands(CLI::App& app, Runner& runner) {
  CLI::App* op = app.add_subcommand("op", "Node API operations");
  op->require_subcommand(1);
  add_sign(*op, runner);
  add_inspect(*op, runner);
}

}  // namespace p2panda::apps
