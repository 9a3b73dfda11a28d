// Publishing. The caller signs on its own thread: under its topic's OwnLog lock it takes our
// log's head, signs the next operation and queues it, so operations enter the queue in log order.
// One batch is with the store's writer at a time: a caller that finds the writer idle hands it
// the queue itself, and the writer, when a batch is done, takes what queued meanwhile, queues the
// batch's delivery and forwarding on the node thread and answers the callers. The node thread
// neither signs nor hops. Why: a publish used to cost two thread hand-offs, a signature and a
// coroutine on the node thread and a store job of its own, which bounded publishing far below
// the signing rate (docs/benchmarks.md, "Where publish time goes").
#include <algorithm>

#include <p2panda/extensions.hpp>

#include "node/engine.hpp"
#include "node/sync_manager.hpp"
#include "stream/ingest.hpp"

namespace p2panda::detail {
namespace {

// Publishes per store job at most. One job is with the writer at a time; callers sign the next
// batch meanwhile, so batches grow with the load and share a commit.
constexpr std::size_t kPublishBatch = 64;
// Batches with the writer at once. Two measured no faster than one (node_bench), and one lets
// the next batch grow while the writer works.
constexpr std::size_t kJobsWriting = 1;

Unexpected node_shut_down() { return fail(Errc::NodeShutDown, "the node was shut down"); }

}  // namespace

// Shared by the writer thread (which fills each item's result in the job) and the node thread
// (which reads them after the completion was posted there: the post orders the two).
struct NodeEngine::PublishBatch {
  struct Item {
    PublishRequest request;
    LogId log;
    bool fast = false;       // stream::append_own: neither causal nor a prune
    bool associate = false;  // link the log to its topic (the first publish on it here)
    std::optional<Result<stream::IngestResult>> result;
    // Set on the writer thread before the completion is posted (the post orders the two).
    std::optional<Error> failure;
  };
  std::vector<Item> items;
};

Result<Operation> NodeEngine::sign_next(OwnLog& own, const Topic& topic, std::optional<Bytes> body,
                                        bool prune) {
  if (const std::uint64_t broken = own.broken.load(); broken > own.generation) {
    own.head.reset();  // a failed write broke the chain it was on (judge_publishes)
    own.generation = broken;
  }
  if (!own.head) {
    auto read = read_own_head(LogId::from_topic(topic));
    if (!read) return Unexpected{std::move(read).error()};
    own.head = *read;
  }
  const auto& head = *own.head;
  std::optional<std::vector<Hash>> dependencies;
  if (own.causal.load()) {
    auto heads = causal_heads(topic);
    if (!heads) return Unexpected{std::move(heads).error()};
    dependencies = std::move(*heads);
  }
  return create_node_operation(
      config_.key, {.topic = topic,
                    .seq_num = SeqNum(head ? head->seq_num.value() + 1 : 0),
                    .backlink = head ? std::optional<Hash>(head->id) : std::nullopt,
                    .timestamp = Timestamp::now(),
                    .prune = prune,
                    .body = body ? std::optional<Body>(Body(std::move(*body))) : std::nullopt,
                    .dependencies = std::move(dependencies)});
}

void NodeEngine::enqueue_publish(std::shared_ptr<TopicStream> stream, std::optional<Bytes> body,
                                 bool prune, PublishReply reply) {
  if (is_shut_down()) return reply(node_shut_down());
  const std::shared_ptr<OwnLog>& own = stream->own_log();
  const Topic& topic = stream->topic();
  std::lock_guard log_lock(own->mutex);
  auto operation = sign_next(*own, topic, std::move(body), prune);
  if (!operation) return reply(Unexpected{std::move(operation).error()});
  // Our own operation is valid by construction (signed a moment ago, seq and backlink from our
  // head), so nothing re-verifies its signature; ingest's log rules or append_own's chain check
  // still run on the writer.
  auto extensions = node_extensions(operation->header());
  if (!extensions) return reply(Unexpected{std::move(extensions).error()});
  // The next publish chains on this one before it is stored. The writer runs jobs and their
  // completions in order, so deliveries and forwarding keep log order; a failed write forgets
  // the head, and the writes chained on it are refused.
  own->head = std::optional<OwnHead>(OwnHead{operation->seq_num(), operation->id()});
  {
    std::lock_guard lock(publish_mutex_);
    if (publish_closed_) {
      own->head.reset();
      ++own->generation;
      return reply(node_shut_down());
    }
    publish_queue_.push_back({std::move(*operation), topic, std::move(*extensions), own,
                              own->generation, own->causal.load(), std::move(reply)});
    // While a batch is with the writer, the writer takes what queued meanwhile when it is done:
    // the next batch grows while it works.
    if (publish_writing_ >= kJobsWriting) return;
  }
  drain_publishes();  // the writer is idle: hand it this publish from here, no hop
}

void NodeEngine::refuse_queued_publishes() {
  std::deque<PublishRequest> refused;
  {
    std::lock_guard lock(publish_mutex_);
    publish_closed_ = true;
    refused.swap(publish_queue_);
  }
  for (auto& request : refused) request.reply(node_shut_down());
}

void NodeEngine::drain_publishes() {
  std::deque<PublishRequest> taken;
  {
    std::lock_guard lock(publish_mutex_);
    if (publish_writing_ >= kJobsWriting || publish_queue_.empty()) return;
    // Constant time under the lock when the queue fits one batch (the usual case): a caller
    // signing its next publish must not wait while this thread moves requests, which on a busy
    // 2-core machine it often did when this thread was preempted holding the lock.
    if (publish_queue_.size() <= kPublishBatch) {
      taken.swap(publish_queue_);
    } else {
      const auto end = publish_queue_.begin() + kPublishBatch;
      taken.assign(std::make_move_iterator(publish_queue_.begin()), std::make_move_iterator(end));
      publish_queue_.erase(publish_queue_.begin(), end);
    }
    // One batch with the writer at a time: what queues meanwhile waits for its completion.
    ++publish_writing_;
  }
  auto batch = std::make_shared<PublishBatch>();
  batch->items.reserve(taken.size());
  for (auto& request : taken) {
    const LogId log = request.extensions.log_id;  // derived when signing; no second hash
    const bool fast = !request.causal && !request.extensions.prune;
    const bool associate = fast && !request.own->linked.exchange(true);
    batch->items.push_back({std::move(request), log, fast, associate, std::nullopt, std::nullopt});
  }
  publishes_in_flight_ += batch->items.size();
  store_->submit(
      [batch](store::StoreWriter& writer) -> Result<void> {
        stream::OwnChain chain;
        for (auto& item : batch->items) {
          const auto& request = item.request;
          auto& result = item.result.emplace(
              item.fast ? stream::append_own(writer, chain, request.operation, request.topic,
                                             item.log, item.associate)
                        : stream::ingest(writer, request.operation, request.topic,
                                         request.extensions, {.causal = request.causal}));
          if (!result) return Unexpected{result.error()};  // the whole job rolls back
          if (!item.fast) chain.heads.erase(item.log);     // moved the head: read it again
        }
        return {};
      },
      [self = shared_from_this(), batch, completions = completions_](Result<void> status) {
        // On the writer thread. The node thread's part (delivery, forwarding, the next batch) is
        // posted first; then the callers are answered from here, one hand-off sooner. Whatever a
        // caller then asks of the node thread queues behind that post, so it sees the delivery.
        self->judge_publishes(*batch, status);
        completions->post([self, batch] { self->finish_publishes(*batch); });
        {
          std::lock_guard lock(self->publish_mutex_);
          --self->publish_writing_;
        }
        self->drain_publishes();  // what queued meanwhile goes next, without a hop
        for (auto& item : batch->items) {
          if (item.failure) {
            item.request.reply(Unexpected{*item.failure});
          } else {
            item.request.reply(item.request.operation.id());
          }
        }
      });
}

void NodeEngine::judge_publishes(PublishBatch& batch, const Result<void>& status) {
  for (auto& item : batch.items) {
    if (!status) {
      item.failure = status.error();
    } else if (!item.result || !*item.result) {
      item.failure = Error(Errc::StoreFailed, "publish not stored");
    } else if (auto* rejected = std::get_if<stream::Rejected>(&(**item.result).outcome)) {
      item.failure = rejected->reason;
    }
    if (item.failure) {
      // Unknown whether it was kept: the next publish reads the head from the store and links
      // the topic again. Not by taking own->mutex here, on the writer: a publisher holding it
      // may wait for a read this thread runs (an in-memory store's), and neither would go on.
      OwnLog& own = *item.request.own;
      own.linked = false;
      const std::uint64_t broken = item.request.generation + 1;
      std::uint64_t seen = own.broken.load();
      while (seen < broken && !own.broken.compare_exchange_weak(seen, broken)) {
      }
    } else {
      metrics_.published.fetch_add(1);
    }
  }
}

void NodeEngine::finish_publishes(PublishBatch& batch) {
  for (auto& item : batch.items) {
    if (item.failure) continue;
    const auto& request = item.request;
    deliver(request.topic, (**item.result).released, FromLocalStore{}, request.operation);
    sync_->publish(request.topic, request.operation, nullptr);
  }
  publishes_in_flight_ -= batch.items.size();
}

}  // namespace p2panda::detail
