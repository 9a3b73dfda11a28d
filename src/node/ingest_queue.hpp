// IngestQueue: operations from sync sessions on their way into the store, off the node thread.
// Verifier threads (started on first use, so an idle node has none) run check() — the signature
// and the store-free rules, the costly part: a core verifies ~11,000-16,000 operations a second,
// which bounds a catch-up sync — in parallel, taking topics in turn, so a bulk sync of one topic
// holds another topic's live operation back by at most one verification per thread. Each checked
// operation goes to the store's writer as an ingest job of its own (group-committed with the
// rest) in push order per topic, whichever thread finished first (the log rules need each
// author's entries in sequence), and its result comes back to the node thread in that order.
// push() never blocks and never drops: callers bound what they push (SyncManager: per session).
// Threads: push() and shutdown() from any thread; `done` runs on the node thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <p2panda/events.hpp>

#include "node/signal.hpp"
#include "store/store.hpp"
#include "stream/ingest.hpp"

namespace p2panda::node {

class IngestQueue {
 public:
  static constexpr std::size_t kMaxVerifiers = 8;
  struct Item {
    Topic topic;
    Operation operation;
    bool causal = false;
    // The operation and its outcome (Rejected for a failed check), or the store's error. Node
    // thread.
    std::function<void(const Operation&, Result<stream::IngestResult>)> done;
  };

  // The verifiers start on the first push, or (start_on_push = false, for tests that need
  // everything queued first) on start(). `verifiers`: how many threads; 0 picks one per core, at
  // most kMaxVerifiers (past that the store's single writer bounds ingest anyway: it inserts
  // ~40,000-60,000 operations a second, eight cores verify ~100,000).
  IngestQueue(store::Store& store, std::shared_ptr<Completions> completions,
              bool start_on_push = true, std::size_t verifiers = 0);
  IngestQueue(const IngestQueue&) = delete;
  IngestQueue& operator=(const IngestQueue&) = delete;
  ~IngestQueue();

  void push(Item item);
  void start();
  // Stops the verifiers; items not submitted yet are dropped unanswered (the node is going away).
  void shutdown();
  // Drops answers that can no longer reach the node thread (its completions closed): they hold
  // their callers' state, which may own this queue. Call once the store is closed.
  void discard_answers();

 private:
  struct Slot {
    Item item;
    std::optional<Result<NodeExtensions>> checked;  // set once verified
  };
  struct TopicQueue {
    std::deque<Item> waiting;                 // not taken by a verifier yet
    std::deque<std::shared_ptr<Slot>> taken;  // taken, in push order, until submitted
  };
  void start_locked();  // REQUIRES: mutex_ held
  void verify_loop();
  // REQUIRES: mutex_ held. Submits the topic's verified slots at the front of `taken`, in order.
  void submit_ready(const Topic& topic);
  void submit(Slot slot);

  // Answers finished on the writer thread wait here for the node thread, which takes them all
  // at once: one hand-off per batch of commits instead of one per operation (a wake-up each was
  // a fifth of ingest's cost). Shared with the handlers posted to the node thread.
  struct Answers {
    std::mutex mutex;
    std::vector<std::function<void()>> waiting;  // in the writer's completion order
  };
  static void answer(const std::shared_ptr<Answers>& answers,
                     const std::shared_ptr<Completions>& completions, std::function<void()> then);
  static void post_drain(const std::shared_ptr<Answers>& answers,
                         const std::shared_ptr<Completions>& completions);
  static void drain(const std::shared_ptr<Answers>& answers,
                    const std::shared_ptr<Completions>& completions);

  store::Store& store_;
  std::shared_ptr<Completions> completions_;
  std::shared_ptr<Answers> answers_ = std::make_shared<Answers>();
  const std::size_t verifier_count_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<Topic, TopicQueue> queues_;  // guarded by mutex_
  std::deque<Topic> turns_;             // topics with waiting items, in turn order
  bool stopping_ = false;
  bool start_on_push_ = true;
  std::vector<std::thread> verifiers_;
};

}  // namespace p2panda::node
