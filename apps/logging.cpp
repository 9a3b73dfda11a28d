#include "logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include <cstdlib>
#include <mutex>
#include <string_view>

namespace p2panda::apps {

void init_logging() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto logger = spdlog::stderr_logger_mt("p2panda");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    const char* level = std::getenv("P2PANDA_LOG");
    // spdlog maps an unknown name to "off"; an unknown level should not silence failures.
    auto parsed = level ? spdlog::level::from_str(level) : spdlog::level::info;
    if (level && parsed == spdlog::level::off && std::string_view(level) != "off") {
      parsed = spdlog::level::info;
    }
    logger->set_level(parsed);
    spdlog::set_default_logger(logger);
  });
}

}  // namespace p2panda::apps
