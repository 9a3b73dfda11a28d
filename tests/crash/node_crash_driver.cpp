// node_crash_driver: the application process node_crash_test kills with SIGKILL.
//
//   node_crash_driver DB JOURNAL KEY_HEX TOPIC_HEX PEER_ID PEER_ADDR explicit|automatic [UNTIL]
//
// It spawns a node on the file database DB with the fixed private key KEY_HEX, syncs TOPIC_HEX
// with the peer PEER_ID at PEER_ADDR (the test's node, which keeps publishing into the topic) and
// consumes the topic's stream. The journal is the application's durable state:
//   R                          a run started (written before the stream is opened)
//   P <id> <author> <seq> <n>  operation processed (n: Processed::delivery), fsynced BEFORE the ack
//   A <id>                     written after ack() returned (explicit acks only)
// so "A" proves an ack happened and a "P" without "A" is processed but maybe not acked. Each line
// is one write(2), so a kill leaves at most an unfinished last line, never a torn one in between.
// On stdout it prints "ready" once the stream is open and "P <seq>" after each journal entry, for
// the test to time its kill. With UNTIL it exits by itself (printing "done") once the peer's
// operation UNTIL has been processed and, with explicit acks, acked.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <p2panda/node.hpp>
#include <string>

namespace {

using namespace std::chrono_literals;

[[noreturn]] void die(const std::string& message) {
  const std::string line = "node_crash_driver: " + message + "\n";
  (void)!::write(2, line.data(), line.size());
  std::_Exit(3);
}

template <class T>
T must(p2panda::Result<T> result, const std::string& what) {
  if (!result) die(what + ": " + result.error().to_string());
  return std::move(*result);
}

void must(p2panda::Result<void> result, const std::string& what) {
  if (!result) die(what + ": " + result.error().to_string());
}

void write_all(int fd, const std::string& text, const char* what) {
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    die(std::string("short write to ") + what);
  }
}

class Journal {
 public:
  explicit Journal(const std::string& path)
      : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) {
    if (fd_ < 0) die("open " + path);
    drop_unfinished_line();
  }
  // Durable before returning: the application's state must not be behind its acks.
  void durable(const std::string& line) {
    write_all(fd_, line, "journal");
    if (::fsync(fd_) != 0) die("fsync journal");
  }
  // A SIGKILL cannot undo a completed write(2); only power loss could, and then the test would
  // merely see fewer acks than happened, which it treats as "maybe acked".
  void append(const std::string& line) { write_all(fd_, line, "journal"); }

 private:
  // Recovery: a line the kill cut short is dropped, or the next one would be glued onto it. A
  // cut "P" was never acked (the ack waits for its fsync); a cut "A" only loses the proof of an
  // ack, which the test then treats as "maybe acked".
  void drop_unfinished_line() {
    off_t end = ::lseek(fd_, 0, SEEK_END);
    while (end > 0) {
      char last = 0;
      if (::pread(fd_, &last, 1, end - 1) != 1) die("read journal");
      if (last == '\n') break;
      --end;
    }
    if (::ftruncate(fd_, end) != 0) die("truncate journal");
  }

  int fd_;
};

struct Args {
  std::string db, journal;
  p2panda::PrivateKey key;
  p2panda::Topic topic;
  p2panda::NodeId peer;
  std::string peer_address;
  p2panda::AckPolicy policy = p2panda::AckPolicy::Explicit;
  std::optional<std::uint64_t> until;
};

Args parse(int argc, char** argv) {
  if (argc != 8 && argc != 9) {
    die("usage: node_crash_driver DB JOURNAL KEY_HEX TOPIC_HEX PEER_ID PEER_ADDR "
        "explicit|automatic [UNTIL]");
  }
  const std::string mode = argv[7];
  if (mode != "explicit" && mode != "automatic") die("mode must be explicit or automatic");
  return Args{argv[1],
              argv[2],
              must(p2panda::PrivateKey::from_hex(argv[3]), "key"),
              must(p2panda::Topic::from_hex(argv[4]), "topic"),
              must(p2panda::NodeId::from_hex(argv[5]), "peer id"),
              argv[6],
              mode == "explicit" ? p2panda::AckPolicy::Explicit : p2panda::AckPolicy::Automatic,
              argc == 9 ? std::optional(std::strtoull(argv[8], nullptr, 10)) : std::nullopt};
}

int run(const Args& args) {
  Journal journal(args.journal);
  journal.durable("R\n");
  auto node = must(p2panda::builder()
                       .private_key(args.key)
                       .database_url("sqlite:" + args.db)
                       .ack_policy(args.policy)
                       .bootstrap(args.peer, {args.peer_address})
                       .sync_retry(100ms)
                       .spawn_blocking(),
                   "spawn");
  auto stream = must(node.stream_blocking<std::string>(args.topic), "stream");
  auto& subscription = stream.subscription;
  write_all(1, "ready\n", "stdout");
  const bool explicit_acks = args.policy == p2panda::AckPolicy::Explicit;
  while (true) {
    auto event = must(subscription.next(1000ms), "next");
    if (!event) continue;
    if (auto* failed = std::get_if<p2panda::AckFailed>(&*event)) {
      die("ack failed: " + failed->error.to_string());
    }
    if (auto* failed = std::get_if<p2panda::ReplayFailed>(&*event)) {
      die("replay failed: " + failed->error.to_string());
    }
    auto* processed = std::get_if<p2panda::Processed<std::string>>(&*event);
    if (!processed) continue;
    const auto& op = processed->operation;
    const std::string id = op.id.to_hex();
    const std::string seq = std::to_string(op.seq.value());
    journal.durable("P " + id + " " + op.author.to_hex() + " " + seq + " " +
                    std::to_string(processed->delivery) + "\n");
    write_all(1, "P " + seq + "\n", "stdout");
    if (explicit_acks) {
      must(subscription.ack_blocking(op.id), "ack " + id);
      journal.append("A " + id + "\n");
    }
    if (args.until && op.author == args.peer && op.seq.value() >= *args.until) break;
  }
  node.shutdown();
  write_all(1, "done\n", "stdout");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return run(parse(argc, argv)); }
