// IngestQueue: operations from sync sessions on their way into the store, off the node thread.
// One verifier thread (started on first use, so an idle node has none) runs check() — the
// signature and the store-free rules, the costly part — taking topics in turn, so a bulk sync of
// one topic holds another topic's live operation back by at most one verification. Each checked
// operation goes to the store's writer as an ingest job of its own (group-committed with the
// rest), and its result comes back to the node thread in push order per topic. push() never
// blocks and never drops: callers bound what they push (SyncManager: per session).
// Threads: push() and shutdown() from any thread; `done` runs on the node thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <p2panda/events.hpp>

#include "node/signal.hpp"
#include "store/store.hpp"
#include "stream/ingest.hpp"

namespace p2panda::node {

class IngestQueue {
 public:
  struct Item {
    Topic topic;
    Operation operation;
    bool causal = false;
    // The operation and its outcome (Rejected for a failed check), or the store's error. Node
    // thread.
    std::function<void(const Operation&, Result<stream::IngestResult>)> done;
  };

  // The verifier starts on the first push, or (start_on_push = false, for tests that need
  // everything queued first) on start().
  IngestQueue(store::Store& store, std::shared_ptr<Completions> completions,
              bool start_on_push = true);
  IngestQueue(const IngestQueue&) = delete;
  IngestQueue& operator=(const IngestQueue&) = delete;
  ~IngestQueue();

  void push(Item item);
  void start();
  // Stops the verifier; items it had not taken are dropped unanswered (the node is going away).
  void shutdown();

 private:
  void start_locked();  // REQUIRES: mutex_ held
  void verify_loop();
  void verify_and_submit(Item item);

  store::Store& store_;
  std::shared_ptr<Completions> completions_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<Topic, std::deque<Item>> queues_;  // guarded by mutex_
  std::deque<Topic> turns_;                   // topics with waiting items, in turn order
  bool stopping_ = false;
  bool start_on_push_ = true;
  std::thread verifier_;
};

}  // namespace p2panda::node
