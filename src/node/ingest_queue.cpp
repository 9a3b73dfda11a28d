#include "node/ingest_queue.hpp"

#include "core/thread_name.hpp"

namespace p2panda::node {

IngestQueue::IngestQueue(store::Store& store, std::shared_ptr<Completions> completions,
                         bool start_on_push)
    : store_(store), completions_(std::move(completions)), start_on_push_(start_on_push) {}

void IngestQueue::start() {
  std::lock_guard lock(mutex_);
  start_locked();
}

void IngestQueue::start_locked() {
  if (!stopping_ && !verifier_.joinable()) verifier_ = std::thread([this] {
      detail::name_this_thread("p2panda-verify");
      verify_loop();
    });
}

IngestQueue::~IngestQueue() { shutdown(); }

void IngestQueue::push(Item item) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    if (start_on_push_) start_locked();
    auto& queue = queues_[item.topic];
    if (queue.empty()) turns_.push_back(item.topic);
    queue.push_back(std::move(item));
  }
  wake_.notify_one();
}

void IngestQueue::shutdown() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (verifier_.joinable()) verifier_.join();
  std::lock_guard lock(mutex_);
  queues_.clear();
  turns_.clear();
}

void IngestQueue::verify_loop() {
  for (;;) {
    std::optional<Item> item;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !turns_.empty(); });
      if (stopping_) return;
      // The topic whose turn it is gives one item and goes to the back of the line.
      const Topic topic = turns_.front();
      turns_.pop_front();
      auto found = queues_.find(topic);
      item.emplace(std::move(found->second.front()));
      found->second.pop_front();
      if (found->second.empty()) {
        queues_.erase(found);
      } else {
        turns_.push_back(topic);
      }
    }
    verify_and_submit(std::move(*item));
  }
}

void IngestQueue::verify_and_submit(Item item) {
  // Outside the lock: verification is what takes the time.
  auto checked = stream::check(item.operation, item.topic);
  auto shared = std::make_shared<Item>(std::move(item));
  auto outcome = std::make_shared<std::optional<stream::IngestResult>>();
  // A failed check also goes through the writer (as a job that writes nothing), so that every
  // result of a topic reaches the node thread in push order.
  store_.submit(
      [shared, outcome, checked = std::move(checked)](store::StoreWriter& writer) -> Result<void> {
        if (!checked) {
          outcome->emplace(stream::IngestResult{stream::Rejected{checked.error()}, {}});
          return {};
        }
        auto result = stream::ingest(writer, shared->operation, shared->topic, *checked,
                                     {.causal = shared->causal});
        if (!result) return Unexpected{result.error()};
        outcome->emplace(std::move(*result));
        return {};
      },
      [completions = completions_, shared, outcome](Result<void> status) {
        completions->post([shared, outcome, status = std::move(status)] {
          if (!status) return shared->done(shared->operation, Unexpected{status.error()});
          shared->done(shared->operation, std::move(**outcome));
        });
      });
}

}  // namespace p2panda::node
