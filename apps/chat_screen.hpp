// ChatScreen: what `p2panda chat` prints, from any thread, one whole line at a time.
//
// Messages and notices are lines. A sync progress bar redraws in place on a terminal (carriage
// return, clear line) and is replaced by the next line printed; when stdout is not a terminal
// (a pipe, a test) the bar prints a line only when it starts and when it completes, so a log
// stays readable. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

namespace p2panda::apps {

class ChatScreen {
 public:
  explicit ChatScreen(bool terminal) : terminal_(terminal) {}

  // "[14:02] nick: text"
  void message(const std::string& time, const std::string& nick, const std::string& text);
  // "* text"
  void notice(const std::string& text);
  // "syncing with PEER [#####     ] done/total messages (bytes)"
  void progress(const std::string& peer, std::uint64_t done, std::uint64_t total,
                std::uint64_t bytes);

 private:
  void line(const std::string& text);  // REQUIRES: mutex_ held

  std::mutex mutex_;
  bool terminal_;
  bool bar_shown_ = false;
};

// Printable: control characters (a peer's escape sequences could redraw our terminal) become '?'.
std::string printable(const std::string& text);

}  // namespace p2panda::apps
