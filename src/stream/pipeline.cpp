#include "stream/pipeline.hpp"

namespace p2panda::stream {

IngestPipeline::IngestPipeline(store::Store& store, PipelineOptions options, Callback on_result)
    : store_(store), options_(std::move(options)), on_result_(std::move(on_result)) {
  if (options_.max_in_flight == 0) options_.max_in_flight = 1;
  for (std::size_t i = 0; i < options_.verify_threads; ++i) {
    verifiers_.emplace_back([this] { verify_loop(); });
  }
}

IngestPipeline::~IngestPipeline() {
  drain();
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  for (auto& thread : verifiers_) thread.join();
}

void IngestPipeline::push(Operation operation, Topic topic) {
  std::unique_lock lock(mutex_);
  room_.wait(lock, [this] { return in_flight_ < options_.max_in_flight; });
  ++in_flight_;
  slots_.push_back(Slot{std::move(operation), topic, std::nullopt});
  ++pushed_;
  if (!verifiers_.empty()) {
    work_.notify_one();
    return;
  }
  verify_next(lock);  // no pool: the pushing thread pays for the signature check
}

void IngestPipeline::verify_loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    work_.wait(lock, [this] { return stopping_ || next_verify_ < pushed_; });
    if (next_verify_ >= pushed_) return;  // stopping and nothing left
    verify_next(lock);
  }
}

void IngestPipeline::verify_next(std::unique_lock<std::mutex>& lock) {
  // Deque elements keep their address while others are pushed or popped at the ends, and a slot
  // is popped only after it was verified.
  Slot& slot = slots_[next_verify_ - front_index_];
  ++next_verify_;
  lock.unlock();
  auto checked = check(slot.operation, slot.topic);
  lock.lock();
  slot.checked = std::move(checked);
  auto rejected = submit_ready();
  if (!rejected.empty()) {
    lock.unlock();
    report(std::move(rejected));
    lock.lock();
  }
}

std::vector<IngestPipeline::Slot> IngestPipeline::submit_ready() {
  std::vector<Slot> rejected;
  while (!slots_.empty() && slots_.front().checked.has_value()) {
    Slot slot = std::move(slots_.front());
    slots_.pop_front();
    ++front_index_;
    if (!slot.checked->has_value()) {
      rejected.push_back(std::move(slot));
      continue;
    }
    // The job and its completion run one after the other on the store's writer thread, so they
    // can share this state without a lock.
    struct Submitted {
      Operation operation;
      Topic topic;
      NodeExtensions extensions;
      std::optional<IngestResult> outcome;
    };
    auto submitted = std::make_shared<Submitted>(
        Submitted{std::move(slot.operation), slot.topic, std::move(**slot.checked), std::nullopt});
    store_.submit(
        [this, submitted](store::StoreWriter& writer) -> Result<void> {
          auto result = ingest(writer, submitted->operation, submitted->topic,
                               submitted->extensions, options_.ingest);
          if (!result) return Unexpected{std::move(result).error()};
          submitted->outcome = std::move(*result);
          return {};
        },
        [this, submitted](Result<void> status) {
          if (status) {
            on_result_(submitted->operation, std::move(*submitted->outcome));
          } else {
            on_result_(submitted->operation, Unexpected{std::move(status).error()});
          }
          std::lock_guard lock(mutex_);
          finish_one();
        });
  }
  return rejected;
}

void IngestPipeline::report(std::vector<Slot> rejected) {
  for (Slot& slot : rejected) {
    on_result_(slot.operation, IngestResult{Rejected{std::move(*slot.checked).error()}, {}});
  }
  if (rejected.empty()) return;
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < rejected.size(); ++i) finish_one();
}

void IngestPipeline::finish_one() {
  --in_flight_;
  room_.notify_all();
}

void IngestPipeline::drain() {
  std::unique_lock lock(mutex_);
  room_.wait(lock, [this] { return in_flight_ == 0; });
}

}  // namespace p2panda::stream
