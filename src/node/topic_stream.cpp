#include "node/topic_stream.hpp"

namespace p2panda::detail {
namespace {

stream::ConsumerConfig consumer_config(const StreamOptions& options, AckPolicy policy) {
  stream::ConsumerConfig config;
  config.cursor_name = options.cursor_name;
  config.causal = options.causal;
  // Automatic acks are done here, not by the Consumer: an operation is acked when the application
  // asks for the event after it, i.e. once it is done with it (see TopicStream::settle). To the
  // Consumer that is an explicit ack that never times out.
  config.ack_policy = stream::AckPolicy::Explicit;
  const bool automatic = policy == AckPolicy::Automatic;
  // 0 means "never redeliver": a wait longer than any session.
  config.ack_wait = !automatic && options.ack_wait.count() > 0
                        ? static_cast<std::uint64_t>(options.ack_wait.count()) * 1000
                        : UINT64_MAX / 4;
  config.max_deliver = automatic ? 0 : options.max_deliver;
  config.max_ack_pending = options.max_ack_pending;
  config.max_queued = options.max_queued;
  return config;
}

stream::StartFrom start_from(const StreamFrom& from) {
  return std::visit(
      [](const auto& value) -> stream::StartFrom {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, from::Start>) return stream::FromStart{};
        if constexpr (std::is_same_v<T, from::Frontier>) return stream::FromFrontier{};
        if constexpr (std::is_same_v<T, from::AtCursor>) return stream::FromCursor{value.cursor};
        if constexpr (std::is_same_v<T, from::Since>) return stream::FromTimestamp{value.timestamp};
      },
      from);
}

OperationInfo info_of(const Operation& operation) {
  OperationInfo info{operation.id(), operation.header().public_key, operation.header().seq_num,
                     Timestamp(0), false};
  if (auto extensions = node_extensions(operation.header())) {
    info.timestamp = extensions->timestamp;
    info.prune = extensions->prune;
  }
  return info;
}

}  // namespace

TopicStream::TopicStream(store::Store& store, Topic topic, StreamOptions options,
                         AckPolicy policy, std::size_t window)
    : store_(store),
      topic_(topic),
      options_(std::move(options)),
      window_(window == 0 ? 1 : window),
      automatic_(policy == AckPolicy::Automatic),
      consumer_(store, topic, consumer_config(options_, policy)) {}

void TopicStream::start(std::uint64_t now) {
  auto queued = consumer_.start(start_from(options_.from), now);
  if (!queued) {
    push(ReplayFailed{queued.error()});
    return;
  }
  replaying_ = *queued > 0;
  if (replaying_) push(ReplayStarted{*queued});
  pump(now);
}

void TopicStream::offer(const Operation& operation, const Source& source, std::uint64_t now) {
  if (closed_) return;
  if (auto offered = consumer_.offer(operation, now, source); !offered) {
    push(AckFailed{operation.id(), offered.error()});
  }
  pump(now);
}

void TopicStream::push(RawEvent event) {
  if (closed_) return;
  if (std::holds_alternative<RawProcessed>(event)) ++processed_waiting_;
  events_.push_back(std::move(event));
  changed_.notify_all();
}

void TopicStream::pump(std::uint64_t now) {
  if (closed_) return;
  consumer_.handle_timeout(now);
  for (auto& exhausted : consumer_.exhausted()) push(DeliveryExhausted{info_of(exhausted)});
  while (processed_waiting_ < window_) {
    auto delivery = consumer_.next_delivery(now);
    report(consumer_.damaged());  // read with nothing queued ahead of them: due first
    if (!delivery) {
      // Once until a delivery succeeds again: every pump retries, and a store that stays broken
      // would otherwise fill the application's events with the same error.
      if (!delivery_failing_) push(AckFailed{Hash{}, delivery.error()});
      delivery_failing_ = true;
      break;
    }
    if (!*delivery) break;
    delivery_failing_ = false;
    const Operation& operation = (*delivery)->operation;
    // Operations without a body never reach here: the Consumer acks them on offer.
    Bytes body = operation.body() ? operation.body()->bytes() : Bytes{};
    push(RawProcessed{info_of(operation), std::move(body), std::move((*delivery)->source),
                      (*delivery)->attempt});
    report(std::move((*delivery)->damaged_after));  // where they stand, before the replay ends
    ++delivered_;
    end_replay();
  }
  report(consumer_.damaged());
  end_replay();  // also when what was left of it was pruned away before it was read
}

// Entries a replay or the backlog skipped because their stored rows no longer decode: said once
// each, so that what the application misses is not silent. A later ack of their log acks them.
void TopicStream::report(std::vector<stream::Damaged> damaged_entries) {
  for (auto& damaged : damaged_entries) {
    push(ProcessingFailed{damaged.entry.id.value_or(Hash{}), std::move(damaged.entry.error),
                          std::move(damaged.source)});
  }
}

void TopicStream::end_replay() {
  if (!replaying_ || !consumer_.replay_done()) return;
  replaying_ = false;
  push(ReplayEnded{});
}

std::optional<RawEvent> TopicStream::pop() {
  if (events_.empty()) return std::nullopt;
  RawEvent event = std::move(events_.front());
  events_.pop_front();
  if (auto* processed = std::get_if<RawProcessed>(&event)) {
    --processed_waiting_;
    if (automatic_) handed_ = processed->operation.id;
  }
  return event;
}

void TopicStream::give_back(RawEvent event) {
  if (auto* processed = std::get_if<RawProcessed>(&event)) {
    ++processed_waiting_;
    if (handed_ == processed->operation.id) handed_.reset();  // not the application's yet
  }
  events_.push_front(std::move(event));
  changed_.notify_all();
}

void TopicStream::settle() {
  if (handed_) {
    unsettled_.push_back(*handed_);
    handed_.reset();
  }
  while (!unsettled_.empty()) {
    const Hash id = unsettled_.front();
    // A failed cursor write leaves the operation unacked: it comes again after a restart.
    if (auto acked = ack(id); !acked) {
      push(AckFailed{id, acked.error()});
      return;
    }
    unsettled_.pop_front();
  }
}

std::optional<stream::Consumer::PendingAck> TopicStream::begin_settle() {
  if (handed_) {
    unsettled_.push_back(*handed_);
    handed_.reset();
  }
  while (!unsettled_.empty()) {
    if (auto pending = begin_ack(unsettled_.front())) return pending;
    unsettled_.pop_front();  // acked meanwhile (a later one of its log)
  }
  return std::nullopt;
}

void TopicStream::end_settle(const stream::Consumer::PendingAck& pending,
                             const Result<void>& saved) {
  end_ack(pending, saved);
  if (saved) {
    if (!unsettled_.empty() && unsettled_.front() == pending.id) unsettled_.pop_front();
    return;
  }
  // A failed cursor write leaves the operation unacked (it comes again after a restart) and in
  // flight, counted against max_ack_pending: it is tried again at the next settle, or enough of
  // them would stop delivery for good, also once writes work again.
  push(AckFailed{pending.id, saved.error()});
}

std::optional<stream::Consumer::PendingAck> TopicStream::begin_ack(const Hash& id) {
  auto pending = consumer_.begin_ack(id);
  if (pending) ack_writing_ = true;
  return pending;
}

void TopicStream::end_ack(const stream::Consumer::PendingAck& pending, const Result<void>& saved) {
  consumer_.end_ack(pending, saved.has_value());
  ack_writing_ = false;
  changed_.notify_all();  // room for more in flight, and the next ack may begin
}

Result<void> TopicStream::ack(const Hash& id) {
  auto acked = consumer_.ack(id);
  if (acked) changed_.notify_all();  // room for more in flight
  return acked;
}

void TopicStream::nak(const Hash& id, std::uint64_t now) {
  consumer_.nak(id);
  pump(now);
}

void TopicStream::close() {
  // A subscription given up or a node shut down gracefully: the application is done with what it
  // took. (A crash skips this, and the last operation comes again.)
  if (!closed_) settle();
  closed_ = true;
  changed_.notify_all();
}

}  // namespace p2panda::detail
