// Publishing: callers on any thread queue their messages; the node thread signs them in batches
// and hands each batch to the store's writer as one job, while it signs the next batch. One
// completion per batch delivers, forwards and answers every caller in order. Why batches: a
// publish used to cost two thread hand-offs, a coroutine on the node thread and a store job of
// its own, which bounded publishing far below the signing rate (docs/benchmarks.md,
// "Where publish time goes").
#include <algorithm>

#include <p2panda/extensions.hpp>

#include "node/engine.hpp"
#include "node/sync_manager.hpp"
#include "stream/ingest.hpp"

namespace p2panda::detail {
namespace {

// Publishes signed per drain: small enough that the writer starts on one batch while the node
// thread signs the next, large enough that the hand-offs are shared.
constexpr std::size_t kPublishBatch = 16;

}  // namespace

// Shared by the writer thread (which fills each item's result in the job) and the node thread
// (which reads them after the completion was posted there: the post orders the two).
struct NodeEngine::PublishBatch {
  struct Item {
    Operation operation;
    Topic topic;
    LogId log;
    NodeExtensions extensions;
    bool causal = false;
    bool fast = false;       // stream::append_own: neither causal nor a prune
    bool associate = false;  // link the log to its topic (the first publish on it here)
    PublishReply reply;
    std::optional<Result<stream::IngestResult>> result;
  };
  std::vector<Item> items;
};

void NodeEngine::enqueue_publish(std::shared_ptr<TopicStream> stream, std::optional<Bytes> body,
                                 bool prune, PublishReply reply) {
  bool post = false;
  {
    std::lock_guard lock(publish_mutex_);
    if (publish_closed_) {
      reply(fail(Errc::NodeShutDown, "the node was shut down"));
      return;
    }
    publish_queue_.push_back({std::move(stream), std::move(body), prune, std::move(reply)});
    post = !std::exchange(publish_drain_posted_, true);
  }
  if (post) asio::post(executor_, [self = shared_from_this()] { self->drain_publishes(); });
}

void NodeEngine::refuse_queued_publishes() {
  std::deque<PublishRequest> refused;
  {
    std::lock_guard lock(publish_mutex_);
    publish_closed_ = true;
    refused.swap(publish_queue_);
  }
  for (auto& request : refused) request.reply(fail(Errc::NodeShutDown, "the node was shut down"));
}

void NodeEngine::drain_publishes() {
  std::vector<PublishRequest> requests;
  {
    std::lock_guard lock(publish_mutex_);
    const std::size_t n = std::min(publish_queue_.size(), kPublishBatch);
    for (std::size_t i = 0; i < n; ++i) {
      requests.push_back(std::move(publish_queue_.front()));
      publish_queue_.pop_front();
    }
    // More waiting: drain again after this batch is with the writer (and after whatever else
    // the node thread has queued meanwhile).
    if (publish_queue_.empty()) {
      publish_drain_posted_ = false;
    } else {
      asio::post(executor_, [self = shared_from_this()] { self->drain_publishes(); });
    }
  }
  auto batch = std::make_shared<PublishBatch>();
  for (auto& request : requests) {
    const Topic topic = request.stream->topic();
    const LogId log = LogId::from_topic(topic);
    auto head = own_head(log);
    if (!head) {
      request.reply(Unexpected{std::move(head).error()});
      continue;
    }
    std::optional<std::vector<Hash>> dependencies;
    const bool is_causal = causal(topic);
    if (is_causal) {
      auto heads = causal_heads(topic);
      if (!heads) {
        request.reply(Unexpected{std::move(heads).error()});
        continue;
      }
      dependencies = std::move(*heads);
    }
    Operation operation = create_node_operation(
        config_.key,
        {.topic = topic,
         .seq_num = SeqNum(*head ? (*head)->seq_num.value() + 1 : 0),
         .backlink = *head ? std::optional<Hash>((*head)->id) : std::nullopt,
         .timestamp = Timestamp::now(),
         .prune = request.prune,
         .body = request.body ? std::optional<Body>(Body(std::move(*request.body))) : std::nullopt,
         .dependencies = std::move(dependencies)});
    // Our own operation is valid by construction (signed a moment ago, seq and backlink from
    // our head), so ingest skips re-verifying the signature; the log rules still run.
    auto extensions = node_extensions(operation.header());
    if (!extensions) {
      request.reply(Unexpected{std::move(extensions).error()});
      continue;
    }
    // The next publish chains on this one before it is stored. The writer runs jobs and their
    // completions in order, so deliveries and forwarding keep log order; a failed write drops
    // the head, and the writes chained on it fail the log rules in ingest().
    own_heads_[log] = LogHead{operation.seq_num(), operation.id()};
    const bool fast = !is_causal && !request.prune;
    const bool associate = fast && own_linked_.insert(topic).second;
    batch->items.push_back({std::move(operation), topic, log, std::move(*extensions), is_causal,
                            fast, associate, std::move(request.reply), std::nullopt});
  }
  if (batch->items.empty()) return;
  publishes_in_flight_ += batch->items.size();
  store_->submit(
      [batch](store::StoreWriter& writer) -> Result<void> {
        stream::OwnChain chain;
        for (auto& item : batch->items) {
          auto& result = item.result.emplace(
              item.fast ? stream::append_own(writer, chain, item.operation, item.topic, item.log,
                                             item.associate)
                        : stream::ingest(writer, item.operation, item.topic, item.extensions,
                                         {.causal = item.causal}));
          if (!result) return Unexpected{result.error()};  // the whole job rolls back
          if (!item.fast) chain.heads.erase(item.log);  // moved the head: read it again
        }
        return {};
      },
      [self = shared_from_this(), batch, completions = completions_](Result<void> status) {
        completions->post([self, batch, status = std::move(status)]() mutable {
          self->finish_publishes(*batch, std::move(status));
        });
      });
}

void NodeEngine::finish_publishes(PublishBatch& batch, Result<void> status) {
  publishes_in_flight_ -= batch.items.size();
  for (auto& item : batch.items) {
    if (!status || !item.result || !*item.result) {
      own_heads_.erase(item.log);  // unknown whether it was kept: ask the store next time
      own_linked_.erase(item.topic);
      item.reply(!status ? Unexpected{status.error()}
                         : Unexpected{Error(Errc::StoreFailed, "publish not stored")});
      continue;
    }
    auto& result = **item.result;
    if (auto* rejected = std::get_if<stream::Rejected>(&result.outcome)) {
      own_heads_.erase(item.log);
      own_linked_.erase(item.topic);
      item.reply(Unexpected{rejected->reason});
      continue;
    }
    metrics_.published.fetch_add(1);
    deliver(item.topic, result.released, FromLocalStore{}, item.operation);
    sync_->publish(item.topic, item.operation, nullptr);
    item.reply(item.operation.id());
  }
}

}  // namespace p2panda::detail
