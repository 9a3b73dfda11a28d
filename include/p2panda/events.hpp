// What a topic subscription yields: StreamEvent<T>, p2panda's StreamEvent in C++.
//
// Processed carries an application message with the operation it came in and where it came from;
// the other events report sync sessions, replay, imports and failures. Counters are 64-bit (p2panda
// uses u32). Plain values: any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <variant>

#include <p2panda/error.hpp>
#include <p2panda/hash.hpp>
#include <p2panda/ids.hpp>
#include <p2panda/keys.hpp>

namespace p2panda {

enum class SessionPhase { Sync, Live };

// Where an operation came from.
struct FromSyncSession {
  NodeId remote;
  std::uint64_t session_id = 0;
  SessionPhase phase = SessionPhase::Sync;
  friend bool operator==(const FromSyncSession&, const FromSyncSession&) = default;
};
struct FromImport {
  std::uint64_t session_id = 0;
  friend bool operator==(const FromImport&, const FromImport&) = default;
};
struct FromLocalStore {  // published here, or replayed from the store
  friend bool operator==(const FromLocalStore&, const FromLocalStore&) = default;
};
using Source = std::variant<FromLocalStore, FromSyncSession, FromImport>;

// The operation a message arrived in.
struct OperationInfo {
  Hash id;
  NodeId author;
  SeqNum seq;
  Timestamp timestamp;
  bool prune = false;
};

template <class T>
struct Processed {
  OperationInfo operation;
  T message;
  Source source;
  std::uint32_t delivery = 1;  // 1 on first delivery; more after an ack wait passed or a nak
};

struct SyncStarted {
  NodeId remote;
  std::uint64_t session_id = 0;
  std::uint64_t incoming_operations = 0;
  std::uint64_t outgoing_operations = 0;
  std::uint64_t incoming_bytes = 0;
  std::uint64_t outgoing_bytes = 0;
  std::uint32_t topic_sessions = 0;  // sessions running on the topic, this one included
};

struct SyncEnded {
  NodeId remote;
  std::uint64_t session_id = 0;
  std::uint64_t sent_operations = 0;
  std::uint64_t received_operations = 0;
  std::uint64_t sent_bytes = 0;
  std::uint64_t received_bytes = 0;
  std::uint64_t sent_bytes_topic_total = 0;
  std::uint64_t received_bytes_topic_total = 0;
  std::optional<Error> error;  // why the session failed; empty when it ended gracefully
};

struct ReplayStarted {
  // What the replay hands out, as the store holds it when the stream opens: a Processed event
  // for each, or a ProcessingFailed (StoreCorrupt) for a stored operation that no longer reads.
  // A prune meanwhile can make it fewer; ReplayEnded says when the replay is over.
  std::uint64_t total_operations = 0;
};
struct ReplayEnded {};
struct ReplayFailed {
  Error error;
};

// Validation or storage refused an operation: it is not stored, acked or delivered. Or, with
// StoreCorrupt, a stored operation no longer reads (a damaged disk): it is not delivered, and
// a later ack of its log acks it.
struct ProcessingFailed {
  Hash id;
  Error error;
  Source source;
};
// The body is not a valid T. The operation is stored but not acked.
struct DecodeFailed {
  OperationInfo operation;
  Error error;
};
struct AckFailed {
  Hash id;
  Error error;
};
// An operation reached the stream's max_deliver without being acked; it is not delivered again
// in this session (JetStream's "max deliveries").
struct DeliveryExhausted {
  OperationInfo operation;
};

struct ImportStarted {
  std::uint64_t session_id = 0;
};
struct ImportEnded {
  std::uint64_t session_id = 0;
  std::uint64_t imported = 0;  // newly stored
  std::uint64_t failed = 0;    // refused by validation
};

template <class T>
using StreamEvent = std::variant<Processed<T>, SyncStarted, SyncEnded, ReplayStarted, ReplayEnded,
                                 ReplayFailed, ProcessingFailed, DecodeFailed, AckFailed,
                                 DeliveryExhausted, ImportStarted, ImportEnded>;

// ---- System events (Node::event_stream()) ----
// p2panda 0.7's SystemEvent carries only discovery sessions; this one also reports what the node
// does with its peers: who it learnt about, who is a gossip neighbour for which topic, and the
// sync sessions per topic and peer. Only events after event_stream() was called are delivered.

// A peer became known: a bootstrap peer, addresses learnt from gossip, mDNS, the address book of an
// earlier run, or confidential topic discovery (a node sharing one of our topics).
struct PeerDiscovered {
  NodeId node;
  enum class Via { Bootstrap, Gossip, Mdns, AddressBook, Discovery } via = Via::Bootstrap;
};
// A peer entered (NeighborUp) or left (NeighborDown) the gossip overlay's active view of a
// topic. `ephemeral` tells the ephemeral-message overlay of the topic from the one that selects
// its sync peers.
struct NeighborUp {
  Topic topic;
  NodeId node;
  bool ephemeral = false;
};
struct NeighborDown {
  Topic topic;
  NodeId node;
  bool ephemeral = false;
};
struct SyncSessionStarted {
  Topic topic;
  NodeId node;
  std::uint64_t session_id = 0;
};
// `error` set: the session failed.
struct SyncSessionEnded {
  Topic topic;
  NodeId node;
  std::uint64_t session_id = 0;
  std::optional<Error> error;
};
// A sync session with a peer failed before it started (no SyncSessionStarted came before it):
// the dial, the connection or the topic handshake failed, timed out, or the peer does not follow
// the topic. The node dials the peer for the topic again after `retry_in`: sync_retry after
// the first failure in a row, doubling with each further one up to 8x sync_retry. A started
// session, or a new address for the peer, clears that count.
struct SyncSessionFailed {
  Topic topic;
  NodeId node;
  Error error;
  std::chrono::milliseconds retry_in{0};
};
using SystemEvent = std::variant<PeerDiscovered, NeighborUp, NeighborDown, SyncSessionStarted,
                                 SyncSessionEnded, SyncSessionFailed>;

}  // namespace p2panda
