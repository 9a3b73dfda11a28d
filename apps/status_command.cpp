// `p2panda status --metrics HOST:PORT`: the state of a running `node`, read from its metrics
// endpoint (GET /status) and printed as one line of JSON.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "http.hpp"

namespace p2panda::apps {
namespace {

int run_status(const std::string& at) {
  auto address = parse_host_port(at);
  if (!address) return usage_error(address.error().to_string());
  auto body = http_get(*address, "/status", std::chrono::seconds(5));
  if (!body) {
    std::cerr << "p2panda: " << body.error().to_string() << '\n';
    return kExitInvalid;
  }
  auto status = nlohmann::json::parse(*body, nullptr, false);
  if (status.is_discarded()) {
    std::cerr << "p2panda: " << at << " did not answer JSON\n";
    return kExitInvalid;
  }
  std::cout << status.dump() << '\n';
  return kExitOk;
}

}  // namespace

void add_status_command(CLI::App& app, Runner& runner) {
  auto at = std::make_shared<std::string>();
  CLI::App* status =
      app.add_subcommand("status", "Print a running node's state as JSON (from its --metrics)");
  status->add_option("--metrics", *at, "The node's --metrics address")
      ->required()
      ->type_name("HOST:PORT");
  status->callback([at, &runner] { runner = [at] { return run_status(*at); }; });
}

}  // namespace p2panda::apps
