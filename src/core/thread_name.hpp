// Names the calling thread (as top, perf and gdb show it), so that a profile or a stuck process
// says which of the node's threads is which. Linux keeps at most 15 characters.
#pragma once

#include <pthread.h>

namespace p2panda::detail {

inline void name_this_thread(const char* name) { pthread_setname_np(pthread_self(), name); }

}  // namespace p2panda::detail
