#include "discovery/psi.hpp"

#include <string>

#include "core/try.hpp"

namespace p2panda::discovery {
namespace {

Unexpected misuse(std::string what) {
  return fail(Errc::InvalidArgument, "discovery: " + std::move(what));
}

Unexpected out_of_turn(std::string_view role, std::string_view expected,
                       const PsiHashMessage& got) {
  return fail(Errc::SyncProtocolViolation, "discovery: " + std::string(role) + " expected " +
                                               std::string(expected) + ", received " +
                                               std::string(message_name(got)));
}

Unexpected too_many_topics(std::size_t count, std::size_t limit) {
  return misuse("we hold " + std::to_string(count) + " topics, more than the limit of " +
                std::to_string(limit) + " a remote accepts");
}

// Calls `share` and checks that the remote will accept what it returned.
Result<Bytes> nodes_payload(const ShareFn& share, const std::set<Topic>& common,
                            const MessageLimits& limits) {
  Nodes nodes{share ? share(common) : TransportInfos{}};
  if (nodes.transport_infos.size() > limits.max_nodes) {
    return misuse("share returned " + std::to_string(nodes.transport_infos.size()) +
                  " nodes, more than the limit of " + std::to_string(limits.max_nodes));
  }
  for (const auto& [node, info] : nodes.transport_infos) {
    if (info.addresses.size() > limits.transport_info.max_addresses ||
        (info.relay_url && info.relay_url->size() > limits.transport_info.max_relay_url_bytes)) {
      return misuse("transport info of " + node.to_hex() + " exceeds the limits");
    }
  }
  return encode_psi_hash(nodes);
}

// Runs `body`, and marks the machine failed if it returns an error.
template <class State, class Body>
Result<PsiStep> guarded(State& state, State failed, Body&& body) {
  auto step = body();
  if (!step) state = failed;
  return step;
}

// Both sides' states share the names that matter here.
template <class State>
PsiStatus status_of(State state) {
  if (state == State::Done) return PsiStatus::Done;
  if (state == State::Failed) return PsiStatus::Failed;
  return PsiStatus::InProgress;
}

}  // namespace

Salt session_salt(const SaltHalf& alice_half, const SaltHalf& bob_half, Role role) {
  Salt salt{};
  std::copy(alice_half.array().begin(), alice_half.array().end(), salt.begin());
  std::copy(bob_half.array().begin(), bob_half.array().end(), salt.begin() + 32);
  salt[64] = static_cast<std::uint8_t>(role);
  return salt;
}

HashedTopic hash_topic(const Topic& topic, const Salt& salt) {
  Hasher hasher;
  hasher.update(topic.bytes()).update(ByteSpan(salt.data(), salt.size()));
  return HashedTopic(hasher.finalize().array());
}

HashedTopics hash_topics(const std::set<Topic>& topics, const Salt& salt) {
  HashedTopics hashed;
  for (const auto& topic : topics) hashed.insert(hash_topic(topic, salt));
  return hashed;
}

std::set<Topic> intersect(const std::set<Topic>& mine, const HashedTopics& theirs,
                          const Salt& their_salt) {
  std::set<Topic> common;
  for (const auto& topic : mine) {
    if (theirs.contains(hash_topic(topic, their_salt))) common.insert(topic);
  }
  return common;
}

// ---- Alice ----

PsiAlice::PsiAlice(std::set<Topic> my_topics, const SaltHalf& my_salt_half, ShareFn share,
                   MessageLimits limits)
    : my_topics_(std::move(my_topics)),
      my_salt_half_(my_salt_half),
      share_(std::move(share)),
      limits_(limits) {}

Result<Bytes> PsiAlice::start() {
  if (state_ != State::Idle) return misuse("PsiAlice::start called twice");
  if (my_topics_.size() > limits_.max_topics) {
    state_ = State::Failed;
    return too_many_topics(my_topics_.size(), limits_.max_topics);
  }
  state_ = State::AwaitingBob;
  return encode_psi_hash(AliceSaltHalf{my_salt_half_});
}

Result<PsiStep> PsiAlice::handle(ByteSpan payload) {
  if (state_ != State::AwaitingBob && state_ != State::AwaitingNodes) {
    return misuse("PsiAlice::handle called before start() or after the session ended");
  }
  return guarded(state_, State::Failed, [&]() -> Result<PsiStep> {
    P2PANDA_TRY(message, decode_psi_hash(payload, limits_));
    if (state_ == State::AwaitingBob) {
      const auto* bob = std::get_if<BobSaltHalfAndHashedData>(&message);
      if (bob == nullptr) return out_of_turn("Alice", "BobSaltHalfAndHashedData", message);
      const Salt alice_salt = session_salt(my_salt_half_, bob->bob_salt_half, Role::Alice);
      const Salt bob_salt = session_salt(my_salt_half_, bob->bob_salt_half, Role::Bob);
      common_ = intersect(my_topics_, bob->topics_for_alice, bob_salt);
      state_ = State::AwaitingNodes;
      return PsiStep{{encode_psi_hash(AliceHashedData{hash_topics(my_topics_, alice_salt)})},
                     PsiStatus::InProgress};
    }
    auto* nodes = std::get_if<Nodes>(&message);
    if (nodes == nullptr) return out_of_turn("Alice", "Nodes", message);
    P2PANDA_TRY(ours, nodes_payload(share_, common_, limits_));
    result_ = PsiResult{std::move(common_), std::move(nodes->transport_infos)};
    state_ = State::Done;
    return PsiStep{{std::move(ours)}, PsiStatus::Done};
  });
}

PsiStatus PsiAlice::handle_end() {
  if (state_ != State::Done) state_ = State::Failed;
  return status();
}

PsiStatus PsiAlice::status() const { return status_of(state_); }

// ---- Bob ----

PsiBob::PsiBob(std::set<Topic> my_topics, const SaltHalf& my_salt_half, ShareFn share,
               MessageLimits limits)
    : my_topics_(std::move(my_topics)),
      my_salt_half_(my_salt_half),
      share_(std::move(share)),
      limits_(limits) {}

Result<PsiStep> PsiBob::handle(ByteSpan payload) {
  if (state_ == State::Done || state_ == State::Failed) {
    return misuse("PsiBob::handle called after the session ended");
  }
  return guarded(state_, State::Failed, [&]() -> Result<PsiStep> {
    P2PANDA_TRY(message, decode_psi_hash(payload, limits_));
    if (state_ == State::AwaitingSalt) {
      const auto* alice = std::get_if<AliceSaltHalf>(&message);
      if (alice == nullptr) return out_of_turn("Bob", "AliceSaltHalf", message);
      if (my_topics_.size() > limits_.max_topics) {
        return too_many_topics(my_topics_.size(), limits_.max_topics);
      }
      alice_salt_half_ = alice->alice_salt_half;
      const Salt bob_salt = session_salt(alice_salt_half_, my_salt_half_, Role::Bob);
      state_ = State::AwaitingHashes;
      return PsiStep{{encode_psi_hash(BobSaltHalfAndHashedData{my_salt_half_,
                                                               hash_topics(my_topics_, bob_salt)})},
                     PsiStatus::InProgress};
    }
    if (state_ == State::AwaitingHashes) {
      const auto* alice = std::get_if<AliceHashedData>(&message);
      if (alice == nullptr) return out_of_turn("Bob", "AliceHashedData", message);
      const Salt alice_salt = session_salt(alice_salt_half_, my_salt_half_, Role::Alice);
      common_ = intersect(my_topics_, alice->topics_for_bob, alice_salt);
      P2PANDA_TRY(ours, nodes_payload(share_, common_, limits_));
      state_ = State::AwaitingNodes;
      return PsiStep{{std::move(ours)}, PsiStatus::InProgress};
    }
    auto* nodes = std::get_if<Nodes>(&message);
    if (nodes == nullptr) return out_of_turn("Bob", "Nodes", message);
    result_ = PsiResult{std::move(common_), std::move(nodes->transport_infos)};
    state_ = State::Done;
    return PsiStep{{}, PsiStatus::Done};
  });
}

PsiStatus PsiBob::handle_end() {
  if (state_ != State::Done) state_ = State::Failed;
  return status();
}

PsiStatus PsiBob::status() const { return status_of(state_); }

}  // namespace p2panda::discovery
