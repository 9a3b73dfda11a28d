#include "node/ingest_queue.hpp"

#include <algorithm>

#include "core/thread_name.hpp"

namespace p2panda::node {

IngestQueue::IngestQueue(store::Store& store, std::shared_ptr<Completions> completions,
                         bool start_on_push, std::size_t verifiers)
    : store_(store),
      completions_(std::move(completions)),
      verifier_count_(verifiers > 0 ? verifiers
                                    : std::clamp<std::size_t>(std::thread::hardware_concurrency(),
                                                              1, kMaxVerifiers)),
      start_on_push_(start_on_push) {}

void IngestQueue::start() {
  std::lock_guard lock(mutex_);
  start_locked();
}

void IngestQueue::start_locked() {
  if (stopping_ || !verifiers_.empty()) return;
  for (std::size_t i = 0; i < verifier_count_; ++i) {
    verifiers_.emplace_back([this] {
      detail::name_this_thread("p2panda-verify");
      verify_loop();
    });
  }
}

IngestQueue::~IngestQueue() { shutdown(); }

void IngestQueue::push(Item item) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    if (start_on_push_) start_locked();
    auto& queue = queues_[item.topic];
    if (queue.waiting.empty()) turns_.push_back(item.topic);
    queue.waiting.push_back(std::move(item));
  }
  wake_.notify_one();
}

void IngestQueue::shutdown() {
  std::vector<std::thread> verifiers;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    verifiers = std::move(verifiers_);
  }
  wake_.notify_all();
  for (auto& verifier : verifiers) verifier.join();
  std::lock_guard lock(mutex_);
  queues_.clear();
  turns_.clear();
}

void IngestQueue::verify_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !turns_.empty(); });
    if (stopping_) return;
    // The topic whose turn it is gives one item and goes to the back of the line.
    const Topic topic = turns_.front();
    turns_.pop_front();
    TopicQueue& queue = queues_.at(topic);
    auto slot = std::make_shared<Slot>(Slot{std::move(queue.waiting.front()), std::nullopt});
    queue.waiting.pop_front();
    queue.taken.push_back(slot);
    if (!queue.waiting.empty()) turns_.push_back(topic);
    lock.unlock();
    // Outside the lock: verification is what takes the time.
    auto checked = stream::check(slot->item.operation, slot->item.topic);
    lock.lock();
    if (stopping_) return;
    slot->checked = std::move(checked);
    submit_ready(topic);
  }
}

void IngestQueue::submit_ready(const Topic& topic) {
  auto found = queues_.find(topic);
  if (found == queues_.end()) return;
  auto& taken = found->second.taken;
  // An earlier item of the topic still being verified holds the later ones back.
  while (!taken.empty() && taken.front()->checked) {
    submit(std::move(*taken.front()));
    taken.pop_front();
  }
  if (taken.empty() && found->second.waiting.empty()) queues_.erase(found);
}

void IngestQueue::submit(Slot slot) {
  auto shared = std::make_shared<Item>(std::move(slot.item));
  auto outcome = std::make_shared<std::optional<stream::IngestResult>>();
  // A failed check also goes through the writer (as a job that writes nothing), so that every
  // result of a topic reaches the node thread in push order.
  store_.submit(
      [shared, outcome, checked = std::move(*slot.checked)](
          store::StoreWriter& writer) -> Result<void> {
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
      [answers = answers_, completions = completions_, shared, outcome](Result<void> status) {
        answer(answers, completions, [shared, outcome, status = std::move(status)] {
          if (!status) return shared->done(shared->operation, Unexpected{status.error()});
          shared->done(shared->operation, std::move(**outcome));
        });
      });
}

// On the writer thread (or, with the store closed, the submitting one). Static: a job may finish
// after the queue is gone. A drain is posted whenever the list goes from empty to not empty.
void IngestQueue::answer(const std::shared_ptr<Answers>& answers,
                         const std::shared_ptr<Completions>& completions,
                         std::function<void()> then) {
  bool first = false;
  {
    std::lock_guard lock(answers->mutex);
    first = answers->waiting.empty();
    answers->waiting.push_back(std::move(then));
  }
  if (first) post_drain(answers, completions);
}

void IngestQueue::post_drain(const std::shared_ptr<Answers>& answers,
                             const std::shared_ptr<Completions>& completions) {
  completions->post([answers, completions] { drain(answers, completions); });
}

// On the node thread.
void IngestQueue::drain(const std::shared_ptr<Answers>& answers,
                        const std::shared_ptr<Completions>& completions) {
  std::vector<std::function<void()>> taken;
  {
    std::lock_guard lock(answers->mutex);
    taken.swap(answers->waiting);
  }
  for (std::size_t i = 0; i < taken.size(); ++i) {
    try {
      taken[i]();
    } catch (...) {
      // Where the node thread goes on after a handler throws (the QUIC endpoint's loop catches
      // and logs), the answers after this one still go out, first in line, or their sessions
      // would wait for them for ever.
      bool first = false;
      {
        std::lock_guard lock(answers->mutex);
        first = answers->waiting.empty();
        answers->waiting.insert(answers->waiting.begin(),
                                std::make_move_iterator(taken.begin() + static_cast<long>(i) + 1),
                                std::make_move_iterator(taken.end()));
        first = first && !answers->waiting.empty();
      }
      if (first) post_drain(answers, completions);
      throw;
    }
  }
}

void IngestQueue::discard_answers() {
  std::vector<std::function<void()>> dropped;
  {
    std::lock_guard lock(answers_->mutex);
    dropped.swap(answers_->waiting);
  }
}

}  // namespace p2panda::node
