// JournalCheck: reads node_crash_driver's journal after each run and checks the delivery
// guarantees across SIGKILLs (format in node_crash_driver.cpp). All operations come from one peer
// log, so a stream is a run of consecutive sequence numbers and the ack cursor is one number.
//
// Explicit acks: nothing at or below the highest seq with an "A" line (acking seq n acks all of
// the log below it) is delivered again after a restart, and the restart continues without a gap
// from somewhere between that ack and the highest processed seq: what was processed but not
// proven acked may come again (counted as redelivered). Automatic acks: an operation is acked
// when the application asks for the next event, so only the last operation processed before a
// kill may come again, and nothing is ever skipped. Test thread only.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <p2panda/node.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace p2panda::test {

struct JournalStats {
  std::uint64_t runs = 0;
  std::uint64_t processed_lines = 0;
  std::uint64_t redelivered = 0;  // processed in an earlier run, not proven acked, came again
  std::uint64_t skipped = 0;      // automatic acks: acked in the window, never processed
};

class JournalCheck {
 public:
  JournalCheck(std::string path, NodeId peer, AckPolicy policy, std::uint64_t window)
      : path_(std::move(path)), peer_(peer), policy_(policy), window_(window) {}

  // Checks the lines the driver appended since the last call (it is dead or done by now).
  void consume() {
    // A driver killed right after its start may not have created the journal yet.
    if (offset_ == 0 && !std::filesystem::exists(path_)) return;
    std::ifstream in(path_, std::ios::binary);
    ASSERT_TRUE(in) << "cannot read the journal " << path_;
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_GE(text.size(), offset_) << "the journal shrank below what was checked";
    std::size_t at = offset_;
    while (true) {
      const auto end = text.find('\n', at);
      if (end == std::string::npos) break;  // an unfinished last line; the driver drops it
      ASSERT_NO_FATAL_FAILURE(line(text.substr(at, end - at)));
      at = end + 1;
    }
    offset_ = at;
    finish_run();  // the driver is gone: its run is over
  }

  // The seqs 0..last processed at least once (or skipped by automatic acks), with the ids the
  // peer published.
  void expect_complete(const std::vector<Hash>& published) const {
    std::uint64_t missing = 0;
    for (std::uint64_t seq = 0; seq < published.size(); ++seq) {
      auto found = ids_.find(seq);
      if (found == ids_.end()) {
        if (!skipped_.contains(seq) && ++missing <= 5) {
          ADD_FAILURE() << "seq " << seq << " was never delivered";
        }
        continue;
      }
      EXPECT_EQ(found->second, published[seq]) << "seq " << seq << " has a different id";
    }
    EXPECT_EQ(missing, 0u) << "operations lost";
  }

  const JournalStats& stats() const { return stats_; }

 private:
  void line(const std::string& text) {
    std::istringstream in(text);
    std::string kind;
    in >> kind;
    if (kind == "R") {
      finish_run();
      ++stats_.runs;
      in_run_ = true;
      return;
    }
    ASSERT_TRUE(in_run_) << "journal line outside a run: " << text;
    if (kind == "A") return acked(in, text);
    ASSERT_EQ(kind, "P") << "bad journal line: " << text;
    std::string id_hex, author_hex;
    std::uint64_t seq = 0, delivery = 0;
    in >> id_hex >> author_hex >> seq >> delivery;
    auto id = Hash::from_hex(id_hex);
    auto author = NodeId::from_hex(author_hex);
    ASSERT_TRUE(in && id && author) << "bad journal line: " << text;
    ASSERT_EQ(*author, peer_) << "an operation of an unexpected author";
    ++stats_.processed_lines;
    auto [known, fresh] = ids_.emplace(seq, *id);
    ASSERT_EQ(known->second, *id) << "two ids at seq " << seq;
    EXPECT_EQ(delivery, 1u) << "seq " << seq << " redelivered within a run (ack wait is 30 s)";
    if (last_in_run_ >= 0) {
      ASSERT_EQ(static_cast<std::int64_t>(seq), last_in_run_ + 1)
          << "run " << stats_.runs << " jumped from seq " << last_in_run_ << " to " << seq;
    } else {
      ASSERT_NO_FATAL_FAILURE(first_of_run(static_cast<std::int64_t>(seq)));
    }
    if (!fresh) ++stats_.redelivered;
    last_in_run_ = static_cast<std::int64_t>(seq);
    last_id_ = *id;
    processed_in_run_ = std::max(processed_in_run_, last_in_run_);
  }

  void acked(std::istringstream& in, const std::string& text) {
    ASSERT_EQ(policy_, AckPolicy::Explicit) << "an ack line with automatic acks: " << text;
    std::string id_hex;
    in >> id_hex;
    auto id = Hash::from_hex(id_hex);
    ASSERT_TRUE(in && id) << "bad journal line: " << text;
    ASSERT_EQ(*id, last_id_) << "ack of something other than the last processed operation";
    acked_in_run_ = std::max(acked_in_run_, last_in_run_);
  }

  // Where a restarted stream may begin (-1: nothing yet).
  void first_of_run(std::int64_t seq) {
    if (policy_ == AckPolicy::Explicit) {
      EXPECT_GT(seq, acked_) << "run " << stats_.runs << " delivered seq " << seq
                             << " again, acked before the kill (highest acked " << acked_ << ")";
      EXPECT_LE(seq, processed_ + 1) << "run " << stats_.runs << " began at seq " << seq
                                     << ", skipping unacked ones after " << processed_;
      return;
    }
    // Automatic acks: an operation is acked when the application asks for the next event, so
    // only the last one processed before the kill may come again, and nothing is skipped.
    EXPECT_GE(seq, processed_) << "run " << stats_.runs << " delivered seq " << seq
                               << " again, though the application had asked for more after it";
    EXPECT_LE(seq, processed_ + 1) << "run " << stats_.runs << " began at seq " << seq
                                   << ", skipping operations after " << processed_;
  }

  void finish_run() {
    if (!in_run_) return;
    in_run_ = false;
    runs_without_processing_ = processed_in_run_ < 0 ? runs_without_processing_ + 1 : 0;
    acked_ = std::max(acked_, acked_in_run_);
    processed_ = std::max(processed_, processed_in_run_);
    last_in_run_ = acked_in_run_ = processed_in_run_ = -1;
  }

  std::string path_;
  NodeId peer_;
  AckPolicy policy_;
  std::uint64_t window_;
  std::size_t offset_ = 0;
  bool in_run_ = false;
  std::int64_t acked_ = -1, processed_ = -1;   // highest over the finished runs
  std::uint64_t runs_without_processing_ = 0;  // finished runs since the last that processed
  std::int64_t last_in_run_ = -1, acked_in_run_ = -1, processed_in_run_ = -1;
  Hash last_id_{};
  std::map<std::uint64_t, Hash> ids_;
  std::set<std::uint64_t> skipped_;
  JournalStats stats_;
};

}  // namespace p2panda::test
