// netbed_switch: a userspace IPv4 switch between network namespaces, with delay and jitter.
//
// This kernel has no netem, and no NFQUEUE either, so the test bed gets delay here: the switch
// makes one TUN device named `bed0` inside each namespace it is given, reads every packet the
// namespace sends through it, and writes it into the destination namespace's TUN device after
// `delay ± jitter` milliseconds. IPv4 unicast goes to the host that owns the destination address
// (198.18.1.<index + 1>, set by netbed.sh); IPv4 and IPv6 multicast (mDNS) go to every other host.
// Loss is not done here: netbed.sh adds nftables `numgen random` drop rules on each namespace's
// input hook, as for bridged hosts.
//
//   netbed_switch --delay-ms 50 --jitter-ms 10 --seed 1 NS0 NS1 ...
//
// Prints "ready" on stdout once every device exists, then runs until SIGTERM/SIGINT. The TUN
// devices are not persistent: they vanish when the switch exits, so cleanup is killing it.
// Counters (forwarded, flooded, dropped) go to stderr on exit.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <queue>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

volatile sig_atomic_t stopping = 0;
void on_signal(int) { stopping = 1; }

struct Pending {
  Clock::time_point due;
  std::uint64_t order;  // ties keep arrival order
  int to;
  std::vector<std::uint8_t> packet;
  bool operator>(const Pending& other) const {
    return due != other.due ? due > other.due : order > other.order;
  }
};

// Opens a TUN device named bed0 inside network namespace `ns` (by name, /run/netns/NAME).
int open_tun_in(const std::string& ns, int home) {
  const std::string path = "/run/netns/" + ns;
  const int ns_fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns_fd < 0) {
    std::perror(path.c_str());
    return -1;
  }
  int tun = -1;
  if (setns(ns_fd, CLONE_NEWNET) == 0) {
    tun = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    ifreq request{};
    request.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::strncpy(request.ifr_name, "bed0", IFNAMSIZ - 1);
    if (tun >= 0 && ioctl(tun, TUNSETIFF, &request) < 0) {
      std::perror("TUNSETIFF");
      close(tun);
      tun = -1;
    }
  } else {
    std::perror("setns");
  }
  close(ns_fd);
  if (setns(home, CLONE_NEWNET) != 0) std::perror("setns (back)");
  return tun;
}

// The hosts a packet goes to: the owner of its IPv4 destination, or everyone else for multicast.
void destinations(const std::uint8_t* p, std::size_t n, int from, int hosts, std::vector<int>& out) {
  out.clear();
  if (n < 1) return;
  const int version = p[0] >> 4;
  bool flood = false;
  if (version == 4 && n >= 20) {
    const std::uint8_t first = p[16];
    if (first >= 224 && first <= 239) {
      flood = true;
    } else if (first == 198 && p[17] == 18 && p[18] == 1) {
      const int to = static_cast<int>(p[19]) - 1;
      if (to >= 0 && to < hosts && to != from) out.push_back(to);
    }
  } else if (version == 6 && n >= 40) {
    flood = p[24] == 0xff;  // ff00::/8
  }
  if (flood) {
    for (int h = 0; h < hosts; ++h) {
      if (h != from) out.push_back(h);
    }
  }
}

int usage() {
  std::fprintf(stderr, "usage: netbed_switch [--delay-ms N] [--jitter-ms N] [--seed N] NS...\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  long delay_ms = 0;
  long jitter_ms = 0;
  unsigned long seed = 1;
  std::vector<std::string> namespaces;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--delay-ms" && has_value) {
      delay_ms = std::stol(argv[++i]);
    } else if (arg == "--jitter-ms" && has_value) {
      jitter_ms = std::stol(argv[++i]);
    } else if (arg == "--seed" && has_value) {
      seed = std::stoul(argv[++i]);
    } else if (!arg.empty() && arg[0] == '-') {
      return usage();
    } else {
      namespaces.push_back(arg);
    }
  }
  if (namespaces.size() < 2 || namespaces.size() > 250 || delay_ms < 0 || jitter_ms < 0 ||
      jitter_ms > delay_ms) {
    return usage();
  }

  const int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  std::vector<pollfd> fds;
  for (const auto& ns : namespaces) {
    const int tun = open_tun_in(ns, home);
    if (tun < 0) return 1;
    fds.push_back(pollfd{tun, POLLIN, 0});
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  std::printf("ready\n");
  std::fflush(stdout);

  const int hosts = static_cast<int>(fds.size());
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<long> jitter(-jitter_ms * 1000, jitter_ms * 1000);
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> queue;
  std::uint64_t order = 0, forwarded = 0, flooded = 0, dropped = 0;
  std::vector<std::uint8_t> buffer(65536);
  std::vector<int> targets;

  while (!stopping) {
    int timeout_ms = 1000;
    if (!queue.empty()) {
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(queue.top().due - Clock::now());
      timeout_ms = static_cast<int>(std::max<long>(0, wait.count()));
    }
    if (poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) break;
    for (int from = 0; from < hosts; ++from) {
      if (!(fds[from].revents & POLLIN)) continue;
      for (;;) {  // drain: the devices are non-blocking
        const ssize_t n = read(fds[from].fd, buffer.data(), buffer.size());
        if (n <= 0) break;
        destinations(buffer.data(), static_cast<std::size_t>(n), from, hosts, targets);
        if (targets.size() > 1) ++flooded;
        for (const int to : targets) {
          const auto due = Clock::now() + std::chrono::milliseconds(delay_ms) +
                           std::chrono::microseconds(jitter_ms ? jitter(random) : 0);
          queue.push(Pending{due, order++, to,
                             std::vector<std::uint8_t>(buffer.begin(), buffer.begin() + n)});
        }
      }
    }
    const auto now = Clock::now();
    while (!queue.empty() && queue.top().due <= now) {
      const Pending& next = queue.top();
      // A full device queue drops, as a congested link would.
      if (write(fds[next.to].fd, next.packet.data(), next.packet.size()) < 0) {
        ++dropped;
      } else {
        ++forwarded;
      }
      queue.pop();
    }
  }
  std::fprintf(stderr, "netbed_switch: forwarded %llu, flooded %llu, dropped %llu\n",
               static_cast<unsigned long long>(forwarded), static_cast<unsigned long long>(flooded),
               static_cast<unsigned long long>(dropped));
  return 0;
}
