// Query and response pacing on a simulated LAN (every datagram reaches everyone at once): the
// swarm's message rate stays about flat from 2 to 40 nodes, everyone learns everyone, passive
// nodes never query but are found, and a fresh node is found within a second.
#include "discovery/mdns_pacer.hpp"

#include <gtest/gtest.h>

#include <set>

namespace p2panda::discovery::mdns {
namespace {

struct Lan {
  std::vector<PublicKey> ids;
  std::vector<MdnsPacer> pacers;
  std::vector<std::set<PublicKey>> known;
  std::size_t queries = 0, responses = 0;
  Time now{};

  Lan(std::size_t active, std::size_t passive, std::uint64_t seed) {
    for (std::size_t i = 0; i < active + passive; ++i) {
      ids.push_back(PrivateKey::generate().public_key());
      pacers.emplace_back(PacerConfig{.active = i < active}, seed * 1000 + i);
      known.emplace_back();
      pacers.back().start(now);
    }
  }
  void add_active(std::uint64_t seed) {
    ids.push_back(PrivateKey::generate().public_key());
    pacers.emplace_back(PacerConfig{}, seed);
    known.emplace_back();
    pacers.back().start(now);
  }
  // Runs until `until`, delivering every message to every node.
  void run(Time until) {
    for (;;) {
      std::optional<Time> next;
      for (auto& pacer : pacers) {
        auto at = pacer.next_deadline();
        if (at && (!next || *at < *next)) next = at;
      }
      if (!next || *next > until) break;
      now = *next;
      for (std::size_t i = 0; i < pacers.size(); ++i) {
        auto due = pacers[i].poll(now);
        if (due.query) {
          ++queries;
          for (std::size_t j = 0; j < pacers.size(); ++j) {
            if (j != i) pacers[j].on_query(now);
          }
        }
        if (due.response) {
          ++responses;
          for (std::size_t j = 0; j < pacers.size(); ++j) {
            if (j == i) continue;
            pacers[j].on_response(ids[i], now);
            known[j].insert(ids[i]);
          }
        }
      }
    }
    now = until;
  }
};

TEST(MdnsPacer, SwarmTrafficStaysFlatAsTheLanFills) {
  std::vector<double> per_minute;
  for (std::size_t nodes : {2, 5, 10, 20, 40}) {
    Lan lan(nodes, 0, nodes);
    lan.run(lan.now + std::chrono::seconds(30));  // settle
    const auto before = lan.queries + lan.responses;
    lan.run(lan.now + std::chrono::seconds(60));
    per_minute.push_back(static_cast<double>(lan.queries + lan.responses - before));
    for (std::size_t i = 0; i < nodes; ++i) {
      EXPECT_EQ(lan.known[i].size(), nodes - 1) << nodes << " nodes, node " << i;
    }
  }
  // 2 nodes vs 40 nodes: the whole LAN's message count per minute grows by far less than the
  // 20x more nodes (each node sends ever less).
  for (double count : per_minute) {
    EXPECT_GT(count, 0);
    EXPECT_LT(count, per_minute.front() * 2.5) << "messages per minute: " << count;
  }
}

TEST(MdnsPacer, QueryIntervalGrowsWithTheSwarm) {
  MdnsPacer pacer(PacerConfig{}, 1);
  EXPECT_EQ(pacer.query_window(1), (std::pair{Millis(700), Millis(840)}));
  EXPECT_EQ(pacer.query_window(20), (std::pair{Millis(700), Millis(2170)}));
  EXPECT_LT(pacer.response_window(1), pacer.response_window(20));
}

TEST(MdnsPacer, PassiveNodesNeverQueryButAreFound) {
  Lan lan(1, 3, 7);
  lan.run(lan.now + std::chrono::seconds(20));
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(lan.known[i].size(), 3u) << i;
  // Only passive nodes: each announces at start, answers each newcomer once, then silence.
  Lan quiet(0, 3, 8);
  quiet.run(quiet.now + std::chrono::seconds(5));
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(quiet.known[i].size(), 2u) << i;
  const auto after_start = quiet.responses;
  EXPECT_LE(after_start, 3u * 3u);
  quiet.run(quiet.now + std::chrono::seconds(60));
  EXPECT_EQ(quiet.queries, 0u);
  EXPECT_EQ(quiet.responses, after_start);
}

TEST(MdnsPacer, AFreshNodeIsFoundWithinASecond) {
  Lan lan(10, 0, 3);
  lan.run(lan.now + std::chrono::seconds(30));
  const auto joined = lan.now;
  lan.add_active(99);
  const auto& fresh = lan.ids.back();
  Time found_at{};
  for (int step = 0; step < 100 && found_at == Time{}; ++step) {
    lan.run(lan.now + Millis(10));
    if (lan.known[0].contains(fresh)) found_at = lan.now;
  }
  ASSERT_NE(found_at, Time{});
  EXPECT_LE(found_at - joined, Millis(1000));
  // And the newcomer learnt all ten within a second of joining.
  lan.run(joined + Millis(1000));
  EXPECT_EQ(lan.known.back().size(), 10u);
}

}  // namespace
}  // namespace p2panda::discovery::mdns
