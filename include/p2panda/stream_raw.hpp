// Stream options and the untyped stream handles under Publisher<T> and Subscription<T>
// (node.hpp). Applications use the typed ones; these carry CBOR bodies as bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <p2panda/awaitable.hpp>
#include <p2panda/events.hpp>
#include <p2panda/log_heights.hpp>
#include <p2panda/operation.hpp>
#include <p2panda/result.hpp>

namespace p2panda {

enum class AckPolicy { Automatic, Explicit };

// Where a subscription starts (p2panda's StreamFrom, plus a time).
namespace from {
struct Start {};     // everything stored: the stream's cursor is reset
struct Frontier {};  // what the stream's cursor has not acked yet (default)
struct AtCursor {
  Cursor cursor;     // replaces the stream's cursor
};
struct Since {
  Timestamp timestamp;  // operations at or after this time; the cursor is untouched
};
}  // namespace from
using StreamFrom = std::variant<from::Frontier, from::Start, from::AtCursor, from::Since>;

struct StreamOptions {
  StreamFrom from = from::Frontier{};
  // The ack cursor's name. Empty: the topic in hex, as p2panda names it. Give replays and second
  // subscriptions their own name so they do not move the main cursor (p2panda #1407).
  std::string cursor_name;
  std::optional<AckPolicy> ack_policy;  // default: the node's
  // Explicit acks: redeliver an operation not acked within this time (0: never).
  std::chrono::milliseconds ack_wait{30'000};
  std::uint32_t max_deliver = 0;     // deliveries per operation, 0 = unlimited
  std::size_t max_ack_pending = 1000;  // unacked deliveries in flight
  // Operations the subscription holds in memory for delivery; the rest of a long replay, and
  // whatever arrives while the application is not reading, waits in the store.
  std::size_t max_queued = 1024;
  // Multi-writer causal order: each publish depends on the current heads of the other authors'
  // logs, and no subscriber sees an operation before its dependencies.
  bool causal = false;
};

namespace detail {

class NodeEngine;
class TopicStream;

struct RawProcessed {
  OperationInfo operation;
  Bytes body;
  Source source;
  std::uint32_t delivery = 1;
};

using RawEvent = std::variant<RawProcessed, SyncStarted, SyncEnded, ReplayStarted, ReplayEnded,
                              ReplayFailed, ProcessingFailed, DecodeFailed, AckFailed,
                              DeliveryExhausted, ImportStarted, ImportEnded>;

class RawPublisher {
 public:
  RawPublisher(std::shared_ptr<NodeEngine> engine, std::shared_ptr<TopicStream> stream);
  // `body` empty: a system operation without body (only meaningful with prune).
  Awaitable<Result<Hash>> publish(std::optional<Bytes> body, bool prune);
  Result<Hash> publish_blocking(std::optional<Bytes> body, bool prune);
  Awaitable<Result<ImportEnded>> import(std::vector<Operation> operations);
  Awaitable<void> close();
  const Topic& topic() const;

 private:
  std::shared_ptr<NodeEngine> engine_;
  std::shared_ptr<TopicStream> stream_;
};

class RawSubscription {
 public:
  RawSubscription(std::shared_ptr<NodeEngine> engine, std::shared_ptr<TopicStream> stream);
  Awaitable<Result<RawEvent>> next();
  Result<std::optional<RawEvent>> next_blocking(std::chrono::milliseconds timeout);
  Awaitable<Result<void>> ack(const Hash& id);
  Result<void> ack_blocking(const Hash& id);
  Awaitable<void> nak(const Hash& id);
  const Topic& topic() const;

 private:
  std::shared_ptr<NodeEngine> engine_;
  std::shared_ptr<TopicStream> stream_;
};

}  // namespace detail
}  // namespace p2panda
