// Confidential topic discovery as sans-IO state machines: p2panda 0.7's salted-hash private set
// intersection (PSI) over one bi-directional stream of a `p2panda/confidential_discovery/v1`
// connection, with Alice the initiator and Bob the acceptor:
//
//   A -> B  AliceSaltHalf                 B -> A  BobSaltHalfAndHashedData (hashed with salt_B)
//   A -> B  AliceHashedData (salt_A)      B -> A  Nodes          A -> B  Nodes
//
// salt_X = alice_half || bob_half || role byte (Alice 0x00, Bob 0x01); each side finds the common
// topics as those of its own whose hash under the other's salt it received. Unlike p2panda (which
// shares its whole address book) each side then shares only what `share` returns for the common
// topics; docs/discovery.md says what each side learns.
//
// The machines do no I/O and draw no randomness: the caller passes its salt half (32 bytes from a
// CSPRNG, fresh per session), feeds each received frame's payload to handle() and sends the
// payloads a PsiStep lists, each wrapped with encode_frame, in order. Neither reads a clock: the
// caller applies its own timeout. Not thread-safe; use an instance from one thread.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <vector>

#include "discovery/messages.hpp"

namespace p2panda::discovery {

enum class PsiStatus {
  InProgress,  // wait for the next payload
  Done,        // result() holds the outcome; Alice waits for Bob to close, Bob closes
  Failed,      // a call returned an error, or the stream ended too early: end the session
};

// What to do after a call: send these payloads (in order, each in its own frame), then act on
// `status`. A Done step may still carry a payload, which must be sent first.
struct PsiStep {
  std::vector<Bytes> send;
  PsiStatus status = PsiStatus::InProgress;
};

struct PsiResult {
  std::set<Topic> common_topics;   // my topics the remote also has (the same set on both sides)
  TransportInfos transport_infos;  // as the remote sent them: unverified
};

// Returns the transport infos to share, given the topics we have in common with the remote (maybe
// none). Should include our own info; an empty ShareFn shares nothing. Called once per session,
// from handle(); it must not call back into the machine.
using ShareFn = std::function<TransportInfos(const std::set<Topic>& common_topics)>;

class PsiAlice {
 public:
  // `my_topics`: the gossip topic ids this node joined. `limits` bound what we accept and what we
  // send (a remote with the default limits refuses more).
  PsiAlice(std::set<Topic> my_topics, const SaltHalf& my_salt_half, ShareFn share,
           MessageLimits limits = {});

  // The first payload, AliceSaltHalf. Errors: InvalidArgument when called twice or when we hold
  // more topics than limits.max_topics (the machine is then Failed).
  Result<Bytes> start();

  // A payload received from Bob. BobSaltHalfAndHashedData: the step carries AliceHashedData.
  // Nodes: the step carries our Nodes, status Done.
  // Errors (the machine is Failed: close the stream, end the session):
  //   Postcard*: not a well-formed PsiHashMessage within `limits` (decode_psi_hash).
  //   SyncProtocolViolation: a message out of turn.
  //   InvalidArgument: a call before start() or after Done or Failed; `share` returned more than
  //     limits.max_nodes nodes (bugs in the caller).
  Result<PsiStep> handle(ByteSpan payload);

  // The stream ended: Done if we already are, else Failed.
  PsiStatus handle_end();

  PsiStatus status() const;
  // REQUIRES: status() == Done.
  const PsiResult& result() const { return *result_; }

 private:
  enum class State { Idle, AwaitingBob, AwaitingNodes, Done, Failed };

  std::set<Topic> my_topics_;
  SaltHalf my_salt_half_;
  ShareFn share_;
  MessageLimits limits_;
  State state_ = State::Idle;
  std::set<Topic> common_;
  std::optional<PsiResult> result_;
};

class PsiBob {
 public:
  PsiBob(std::set<Topic> my_topics, const SaltHalf& my_salt_half, ShareFn share,
         MessageLimits limits = {});

  // A payload received from Alice. AliceSaltHalf: the step carries BobSaltHalfAndHashedData.
  // AliceHashedData: the step carries our Nodes. Nodes: status Done (close the stream).
  // Errors (the machine is Failed): as PsiAlice::handle, and InvalidArgument when we hold more
  // topics than limits.max_topics.
  Result<PsiStep> handle(ByteSpan payload);

  PsiStatus handle_end();
  PsiStatus status() const;
  // REQUIRES: status() == Done.
  const PsiResult& result() const { return *result_; }

 private:
  enum class State { AwaitingSalt, AwaitingHashes, AwaitingNodes, Done, Failed };

  std::set<Topic> my_topics_;
  SaltHalf my_salt_half_;
  ShareFn share_;
  MessageLimits limits_;
  State state_ = State::AwaitingSalt;
  SaltHalf alice_salt_half_;
  std::set<Topic> common_;
  std::optional<PsiResult> result_;
};

// The pieces, exposed for tests and tools.
enum class Role : std::uint8_t { Alice = 0x00, Bob = 0x01 };
using Salt = std::array<std::uint8_t, 65>;
Salt session_salt(const SaltHalf& alice_half, const SaltHalf& bob_half, Role role);
HashedTopic hash_topic(const Topic& topic, const Salt& salt);
HashedTopics hash_topics(const std::set<Topic>& topics, const Salt& salt);
std::set<Topic> intersect(const std::set<Topic>& mine, const HashedTopics& theirs,
                          const Salt& their_salt);

}  // namespace p2panda::discovery
