// IngestPipeline: feeds operations through check() on a pool of verification threads and then,
// in the order they were pushed, into the store as ingest jobs (which group-commit). Ed25519
// verification, not hashing or SQLite, bounds ingest on small machines, so it runs in parallel;
// submission keeps push order because the log rules need each author's entries in sequence.
//
// Backpressure: push() blocks while `max_in_flight` operations await their result, so a fast
// producer cannot grow memory without bound; nothing is dropped. Results of store jobs arrive on
// the store's writer thread in push order; an operation that fails check() is reported on a
// verifying (or the pushing) thread as soon as everything pushed before it went to the store.
// push() and drain() are thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "store/store.hpp"
#include "stream/ingest.hpp"

namespace p2panda::stream {

struct PipelineOptions {
  std::size_t verify_threads = 1;  // 0: verify on the pushing thread
  std::size_t max_in_flight = 4096;
  IngestConfig ingest{};
};

class IngestPipeline {
 public:
  using Callback = std::function<void(const Operation&, Result<IngestResult>)>;

  IngestPipeline(store::Store& store, PipelineOptions options, Callback on_result);
  IngestPipeline(const IngestPipeline&) = delete;
  IngestPipeline& operator=(const IngestPipeline&) = delete;
  ~IngestPipeline();  // drains, then stops the threads

  void push(Operation operation, Topic topic);

  // Blocks until every pushed operation has its result.
  void drain();

 private:
  struct Slot {
    Operation operation;
    Topic topic;
    std::optional<Result<NodeExtensions>> checked;
  };

  void verify_loop();
  // REQUIRES: lock holds mutex_ and a slot awaits verification. Verifies it with the lock
  // released, then submits what is ready; returns with the lock held.
  void verify_next(std::unique_lock<std::mutex>& lock);
  // REQUIRES: mutex_ held. Submits verified slots at the front, in order; returns those that
  // failed check(), to be reported once the lock is released.
  std::vector<Slot> submit_ready();
  // REQUIRES: mutex_ not held (callbacks run here).
  void report(std::vector<Slot> rejected);
  // REQUIRES: mutex_ held.
  void finish_one();

  store::Store& store_;
  PipelineOptions options_;
  Callback on_result_;

  std::mutex mutex_;
  std::condition_variable work_;   // a slot awaits verification, or stopping
  std::condition_variable room_;   // in-flight count dropped
  std::deque<Slot> slots_;         // pushed, not yet submitted; front = oldest
  std::uint64_t front_index_ = 0;  // push index of slots_.front()
  std::uint64_t next_verify_ = 0;  // push index of the next slot to verify
  std::uint64_t pushed_ = 0;
  std::size_t in_flight_ = 0;      // pushed and without a result yet
  bool stopping_ = false;
  std::vector<std::thread> verifiers_;
};

}  // namespace p2panda::stream
