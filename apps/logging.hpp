// Logging of the long-running commands (`node`, `sync`) through spdlog, on stderr so that stdout
// stays the scripting contract. The level comes from P2PANDA_LOG (trace, debug, info, warn, error,
// critical, off; default info, which logs only start, stop and failures). Thread-safe.
#pragma once

#include <spdlog/spdlog.h>

namespace p2panda::apps {

// Sets up the stderr logger once; later calls do nothing.
void init_logging();

}  // namespace p2panda::apps
