// Causal order for a batch of stored operations, as a replay hands them out: every operation
// after the ones in the batch that it depends on (the earlier entries of its own log, also
// across a gap in the batch, and the dependencies its extensions record), otherwise in the order
// given. Pure.
#pragma once

#include <vector>

#include <p2panda/operation.hpp>

namespace p2panda::stream {

// Stable topological sort over the dependencies inside `operations`; dependencies outside it are
// taken as delivered already. A cycle cannot occur between real hashes; were one there, its
// members would keep their given order at the end.
std::vector<Operation> in_causal_order(std::vector<Operation> operations);

}  // namespace p2panda::stream
