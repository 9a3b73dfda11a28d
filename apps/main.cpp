// `p2panda`: a command-line tool for p2panda keys and Node API operations. See `p2panda --help`.
//
// CLI11 reports parse errors as exceptions; they are caught here and never leave main. Exit codes:
// 0 success, 1 an operation breaks a rule, 2 bad arguments or undecodable input.
#include "commands.hpp"

int main(int argc, char** argv) {
  using namespace p2panda::apps;

  CLI::App app("p2panda: keys, operations and nodes of p2panda's Node API (p2panda 0.7 format)",
               "p2panda");
  app.set_version_flag("--version", "p2panda " P2PANDA_VERSION);
  app.require_subcommand(1);

  Runner runner;
  add_key_commands(app, runner);
  add_op_commands(app, runner);
#ifdef P2PANDA_WITH_NODE
  add_node_command(app, runner);
  add_sync_command(app, runner);
  add_status_command(app, runner);
  add_chat_command(app, runner);
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version arrive as "errors" with exit code 0.
    const int printed = app.exit(error);
    return printed == 0 ? kExitOk : kExitUsage;
  }
  if (!runner) return usage_error("no command given; see --help");
  return runner();
}
