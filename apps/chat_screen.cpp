#include "chat_screen.hpp"

#include <cstdio>

namespace p2panda::apps {

std::string printable(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) c = '?';
  }
  return out;
}

void ChatScreen::line(const std::string& text) {
  if (bar_shown_) std::fputs("\r\033[K", stdout);  // the bar gives way; it is redrawn on progress
  bar_shown_ = false;
  std::fputs(text.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void ChatScreen::message(const std::string& time, const std::string& nick,
                         const std::string& text) {
  std::lock_guard lock(mutex_);
  line("[" + time + "] " + printable(nick) + ": " + printable(text));
}

void ChatScreen::notice(const std::string& text) {
  std::lock_guard lock(mutex_);
  line("* " + printable(text));
}

void ChatScreen::progress(const std::string& peer, std::uint64_t done, std::uint64_t total,
                          std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  constexpr int kWidth = 20;
  const int filled = total == 0 ? kWidth : static_cast<int>(done * kWidth / total);
  const std::string bar = "syncing with " + peer + " [" + std::string(filled, '#') +
                          std::string(kWidth - filled, ' ') + "] " + std::to_string(done) + "/" +
                          std::to_string(total) + " messages (" + std::to_string(bytes) +
                          " bytes)";
  if (terminal_) {
    std::fputs(("\r\033[K" + bar).c_str(), stdout);
    bar_shown_ = done < total;
    if (!bar_shown_) std::fputc('\n', stdout);
    std::fflush(stdout);
  } else if (done == 0 || done >= total) {
    line(bar);
  }
}

}  // namespace p2panda::apps
