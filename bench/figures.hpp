// Figures: the named numbers a benchmark program reports ("blake3_mb_s", "op_validate_per_s"), for
// tracking performance over time. Each benchmark publishes its figure as a Google Benchmark user
// counter of the same name (a rate: benchmark::Counter::kIsRate); FigureReporter collects them
// while still printing the usual console table, and run_benchmarks merges them into a flat JSON
// object that every benchmark program shares. Used from main's thread only.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

namespace p2panda::bench {

using Figures = std::map<std::string, double>;

// Prints like ConsoleReporter and keeps every user counter of every successful run as a figure.
// With --benchmark_repetitions, the median of the repetitions is kept.
class FigureReporter : public benchmark::ConsoleReporter {
 public:
  explicit FigureReporter(OutputOptions options) : ConsoleReporter(options) {}
  void ReportRuns(const std::vector<Run>& runs) override;
  const Figures& figures() const { return figures_; }

 private:
  Figures figures_;
};

// Merges `figures` into the JSON object in `path` (created when absent). Returns false, with a
// message on stderr, when the file cannot be read or written.
bool merge_results(const std::string& path, const Figures& figures);

// For scenario programs: accepts only `--results FILE`. Returns false (after printing `usage` to
// stderr) on anything else; `results` stays empty without the flag.
bool parse_results_flag(int argc, char** argv, const char* usage, std::string& results);

// A two-column table of the figures on stdout.
void print_summary(const Figures& figures);

// The main of a benchmark program. Accepts Google Benchmark's flags plus `--results FILE`;
// `default_flags` ("--benchmark_min_time=0.5") apply unless the command line sets the same flag.
// Runs the registered benchmarks, lets `derive` add figures computed from the measured ones
// (ratios), prints a summary table and, with --results, merges the figures into FILE's JSON
// object (created when absent; figures of the same name are overwritten, others kept). Returns the
// process exit code: 0; 1 when FILE cannot be read or written (checked before running, so no run
// is wasted); 2 for bad arguments.
int run_benchmarks(int argc, char** argv, const std::vector<std::string>& default_flags,
                   const std::function<void(Figures&)>& derive);

}  // namespace p2panda::bench
