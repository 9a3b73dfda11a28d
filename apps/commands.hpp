// The subcommand groups of the `p2panda` command-line tool, and the helpers they share.
//
// Each group registers its subcommands on the CLI11 app. Parsing only records what to do in a
// Runner; main() calls it after parsing succeeded, so that CLI11's exceptions stay inside main's
// try block and the commands themselves work with Result<T> like the library. Single-threaded.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <p2panda/keys.hpp>
#include <p2panda/operation.hpp>
#include <string>
#include <string_view>

namespace p2panda::apps {

// Exit codes are part of the tool's contract: scripts branch on them.
inline constexpr int kExitOk = 0;
inline constexpr int kExitInvalid = 1;  // the input decodes but breaks a rule
inline constexpr int kExitUsage = 2;    // bad arguments, unreadable files, undecodable input

// The command chosen on the command line; returns the exit code.
using Runner = std::function<int()>;

void add_key_commands(CLI::App& app, Runner& runner);
void add_op_commands(CLI::App& app, Runner& runner);
// The network commands (node, sync, status, chat); only in builds with the QUIC transport.
void add_node_command(CLI::App& app, Runner& runner);
void add_sync_command(CLI::App& app, Runner& runner);
void add_status_command(CLI::App& app, Runner& runner);
void add_chat_command(CLI::App& app, Runner& runner);

// `op inspect`, kept apart from signing because it owns the JSON report format.
int run_op_inspect(const std::string& header_arg, const std::optional<std::string>& body_hex,
                   const std::optional<std::string>& body_file);

// Prints "p2panda: <message>" on stderr and returns kExitUsage.
int usage_error(std::string_view message);

std::string_view trim(std::string_view text);

// Whole file, or all of stdin for "-". Errors: Io (with the path and the OS reason).
Result<std::string> read_file(const std::string& path);

// A seed file: hex, surrounding whitespace ignored. Errors: Io, InvalidHex, InvalidLength.
Result<PrivateKey> load_key_file(const std::string& path);

// Creates `path` with mode 0600 and writes `text`. O_EXCL: an existing file may be someone's only
// copy of a private key, so it is never overwritten. Errors: Io (with the path and the OS reason).
Result<void> write_secret_file(const std::string& path, const std::string& text);

// The body given by --body-hex or --body-file (at most one of them), or none.
// Errors: Io, InvalidHex, InvalidLength (a body too large for the u32 payload size).
Result<std::optional<Body>> load_body(const std::optional<std::string>& body_hex,
                                      const std::optional<std::string>& body_file);

}  // namespace p2panda::apps
