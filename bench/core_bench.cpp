// Benchmarks of the core's hot paths: what a node spends per received operation. The figure to
// watch is validate_vs_verify: full validation (strict decode, signature, body hash, topic) should
// cost barely more than the Ed25519 verification inside it, i.e. the ratio should stay near 1.
#include <cstddef>
#include <string>
#include <vector>

#include <p2panda/extensions.hpp>
#include <p2panda/operation.hpp>

#include "figures.hpp"
#include "operation_pool.hpp"

namespace {

using namespace p2panda;
using benchmark::Counter;

constexpr std::size_t kPoolSize = 64;  // a power of two: the index wraps with a mask
constexpr std::size_t kBodySize = 256;
// The machine that runs these is usually busy with other work, so each benchmark runs as five
// repetitions interleaved in random order with the others' and reports the median: a load spike
// then skews one repetition rather than the whole of one benchmark (which would skew the ratio).
// About 20 s in all.
const std::vector<std::string> kDefaultFlags = {
    "--benchmark_min_time=0.5",
    "--benchmark_repetitions=5",
    "--benchmark_enable_random_interleaving=true",
    "--benchmark_report_aggregates_only=true",
};

const std::vector<bench::PooledOperation>& pool() {
  static const auto operations = bench::make_operation_pool(kPoolSize, kBodySize);
  return operations;
}

Counter per_second(const benchmark::State& state, double per_iteration = 1.0) {
  return Counter(static_cast<double>(state.iterations()) * per_iteration, Counter::kIsRate);
}

void blake3_1mib(benchmark::State& state) {
  Bytes buffer(1 << 20);
  for (std::size_t i = 0; i < buffer.size(); ++i) buffer[i] = static_cast<std::uint8_t>(i * 131);
  for (auto _ : state) {
    Hash hash = Hash::digest(buffer);
    benchmark::DoNotOptimize(hash);
  }
  state.counters["blake3_mb_s"] = per_second(state, static_cast<double>(buffer.size()) / 1e6);
}

// The message is a signed header, the size of a typical Node API operation's.
void ed25519_sign(benchmark::State& state) {
  const auto& operations = pool();
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& entry = operations[i++ & (kPoolSize - 1)];
    Signature signature = entry.key.sign(entry.operation.header_bytes());
    benchmark::DoNotOptimize(signature);
  }
  state.SetLabel(std::to_string(operations[0].operation.header_bytes().size()) + "-byte messages");
  state.counters["ed25519_sign_per_s"] = per_second(state);
}

void ed25519_verify(benchmark::State& state) {
  const auto& operations = pool();
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& entry = operations[i++ & (kPoolSize - 1)];
    const auto& header = entry.operation.header();
    if (!header.public_key.verify(entry.unsigned_header, *header.signature)) {
      state.SkipWithError("signature does not verify");
      break;
    }
  }
  state.counters["ed25519_verify_per_s"] = per_second(state);
}

void header_decode(benchmark::State& state) {
  const auto& operations = pool();
  std::size_t i = 0;
  for (auto _ : state) {
    auto header = Header::decode(operations[i++ & (kPoolSize - 1)].operation.header_bytes());
    if (!header) {
      state.SkipWithError("header does not decode");
      break;
    }
    benchmark::DoNotOptimize(header);
  }
  state.counters["header_decode_per_s"] = per_second(state);
}

// What ingesting a received operation costs before storage: bytes in, verdict out.
void operation_validate(benchmark::State& state) {
  const auto& operations = pool();
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& entry = operations[i++ & (kPoolSize - 1)];
    auto operation = Operation::decode(entry.operation.header_bytes(), Body(entry.body));
    if (!operation || !validate_operation(*operation) ||
        !validate_topic(operation->header(), entry.topic)) {
      state.SkipWithError("operation does not validate");
      break;
    }
  }
  state.counters["op_validate_per_s"] = per_second(state);
}

BENCHMARK(blake3_1mib);
BENCHMARK(ed25519_sign);
BENCHMARK(ed25519_verify);
BENCHMARK(header_decode);
BENCHMARK(operation_validate);

void derive_figures(bench::Figures& figures) {
  const auto validate = figures.find("op_validate_per_s");
  const auto verify = figures.find("ed25519_verify_per_s");
  if (validate != figures.end() && verify != figures.end() && verify->second > 0) {
    figures["validate_vs_verify"] = validate->second / verify->second;
  }
}

}  // namespace

int main(int argc, char** argv) {
  return p2panda::bench::run_benchmarks(argc, argv, kDefaultFlags, derive_figures);
}
