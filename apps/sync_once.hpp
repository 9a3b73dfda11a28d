// One sync session with one peer over QUIC, for `p2panda sync`: the topic handshake, then log
// sync without live mode (docs/sync.md), received operations validated and stored. A small
// driver over the same parts the node's SyncManager uses (QuicTransport, LogSyncSession,
// check_and_ingest), without a node: nothing listens for or dials other peers.
// Blocking; call from a plain thread.
#pragma once

#include <chrono>
#include <string>

#include <p2panda/ids.hpp>
#include <p2panda/keys.hpp>

#include "net_args.hpp"
#include "sync/log_sync.hpp"

namespace p2panda::apps {

struct SyncOnceRequest {
  PrivateKey key = PrivateKey::generate();
  std::string database_url;  // as NodeBuilder::database_url
  Topic topic;
  PeerArg peer;
  NetworkId network = NetworkId::default_id();
  // Bounds reaching the peer (the QUIC handshake), the topic handshake, and each silence of the
  // peer during the sync.
  std::chrono::milliseconds timeout{10'000};
};

struct SyncOnceReport {
  sync::SyncMetrics metrics;   // operations and bytes both ways
  std::uint64_t ingested = 0;  // received and newly stored
  std::uint64_t rejected = 0;  // received and refused by validation (not stored)
};

// Errors: Store* (the database), TimedOut / TlsRefused / HandshakeRejected / Io (cannot reach
// the peer or it refused us), HandshakeRejected (the peer does not follow the topic),
// SyncProtocolViolation, SyncTimeout, SyncClosedUnexpectedly (the peer broke the protocol).
Result<SyncOnceReport> sync_once(const SyncOnceRequest& request);

}  // namespace p2panda::apps
