// MdnsPacer: when to send mDNS queries and responses so that a LAN's total mDNS traffic stays
// about flat as it fills (swarm-discovery's algorithm, docs/discovery.md "Pacing"). With S the
// estimated swarm size (1 + peers heard within 3S/phi):
// - query mode (Active only): after a timeout drawn from [tau, tau + (S+1)*tau/10) send a query;
//   hearing anyone's query restarts that timeout, so a swarm sends about one query per cycle;
// - on any query (ours included): respond after a random delay in [0, 100ms*(S+1)/(tau*phi))
//   plus a penalty when we responded last cycle; skip it when more than tau*phi other responses
//   were heard meanwhile;
// - both modes announce once at start (and on republish): an unsolicited response, so a passive
//   node is found without waiting for a query;
// - hearing a node we did not know (or had pruned) schedules one response of ours, never
//   suppressed: the newcomer learns everyone within one response window.
// Sans-IO: time and the seed are arguments. One thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <p2panda/keys.hpp>
#include <random>

namespace p2panda::discovery::mdns {

using Time = std::chrono::steady_clock::time_point;
using Millis = std::chrono::milliseconds;

struct PacerConfig {
  bool active = true;      // false: passive, never queries
  Millis tau{700};         // query cadence target (swarm-discovery's "interactive" preset)
  double phi = 2.5;        // responses per second the whole swarm aims at
  Millis first_delay{20};  // RFC 6762 §8: wait 20-120 ms before the first query/announcement
};

class MdnsPacer {
 public:
  MdnsPacer(PacerConfig config, std::uint64_t seed);

  void start(Time now);
  void republish(Time now);  // our addresses changed: announce again soon
  // A query for our service arrived (from anyone, ourselves included).
  void on_query(Time now);
  // A response announced `node` (not ourselves).
  void on_response(const PublicKey& node, Time now);

  struct Due {
    bool query = false;
    bool response = false;  // a response or an announcement: the same message
  };
  // Fires what is due at `now`. Call at next_deadline() (earlier calls are harmless).
  Due poll(Time now);
  std::optional<Time> next_deadline() const;

  // 1 + peers heard from within the pruning window.
  std::size_t swarm_size(Time now);
  // The interval a query timeout is drawn from, for tests and docs.
  std::pair<Millis, Millis> query_window(std::size_t swarm) const;
  Millis response_window(std::size_t swarm) const;

 private:
  Millis draw(Millis low, Millis high);
  void schedule_query(Time now);

  PacerConfig config_;
  std::mt19937_64 random_;
  std::optional<Time> query_at_;
  std::optional<Time> response_at_;
  std::optional<Time> announce_at_;
  std::size_t responses_heard_ = 0;  // by others since the current response was scheduled
  bool responded_last_cycle_ = false;
  bool owe_newcomer_ = false;  // the pending response answers a node we had not heard before
  Millis extra_{0};
  std::map<PublicKey, Time> peers_;  // last heard
};

}  // namespace p2panda::discovery::mdns
