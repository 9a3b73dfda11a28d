#include "operation_pool.hpp"

#include <string>

namespace p2panda::bench {
namespace {

// Deterministic pseudo-random bytes: BLAKE3 in counter mode over a label.
Bytes derived_bytes(const std::string& label, std::size_t size) {
  Bytes out;
  out.reserve(size + Hash::kSize);
  for (std::uint32_t block = 0; out.size() < size; ++block) {
    Hasher hasher;
    hasher.update(as_bytes(label)).update(as_bytes(std::to_string(block)));
    const Hash hash = hasher.finalize();
    out.insert(out.end(), hash.bytes().begin(), hash.bytes().end());
  }
  out.resize(size);
  return out;
}

}  // namespace

std::vector<PooledOperation> make_operation_pool(std::size_t count, std::size_t body_size) {
  std::vector<PooledOperation> pool;
  pool.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::string tag = std::to_string(i);
    auto key = *PrivateKey::from_bytes(derived_bytes("key " + tag, 32));
    const auto topic = *Topic::from_bytes(derived_bytes("topic " + tag, 32));
    NodeOperationArgs args;
    args.topic = topic;
    args.seq_num = SeqNum(static_cast<std::uint32_t>(i % 3 == 0 ? 0 : 1 + i * 7));
    if (!args.seq_num.is_first()) args.backlink = Hash::digest(derived_bytes("back " + tag, 32));
    args.timestamp = Timestamp(1'700'000'000'000'000 + i * 1'000'003);
    args.prune = i % 5 == 4;
    Bytes body = derived_bytes("body " + tag, body_size);
    args.body = Body(body);
    Operation operation = create_node_operation(key, std::move(args));
    Bytes unsigned_header = operation.header().encode_unsigned();
    pool.push_back(PooledOperation{std::move(key), topic, std::move(body), std::move(operation),
                                   std::move(unsigned_header)});
  }
  return pool;
}

}  // namespace p2panda::bench
