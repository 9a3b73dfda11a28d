#include "figures.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string_view>

#include <nlohmann/json.hpp>

namespace p2panda::bench {
namespace {

struct CommandLine {
  std::string results_path;            // empty: no results file
  std::vector<std::string> arguments;  // for Google Benchmark, program name first
};

// "--benchmark_min_time=2" -> "--benchmark_min_time".
std::string_view flag_name(std::string_view argument) {
  return argument.substr(0, argument.find('='));
}

// Takes out `--results FILE` (Google Benchmark rejects flags it does not know) and adds each
// default flag the caller did not set. Nullopt when `--results` lacks its file name.
std::optional<CommandLine> parse_command_line(int argc, char** argv,
                                              const std::vector<std::string>& default_flags) {
  CommandLine line;
  for (int i = 0; i < argc; ++i) {
    const std::string_view argument = argv[i];
    if (flag_name(argument) == "--results") {
      const bool separate = argument == "--results";
      if (separate && i + 1 == argc) return std::nullopt;
      line.results_path = separate ? argv[++i] : argument.substr(10);
      if (line.results_path.empty()) return std::nullopt;
    } else {
      line.arguments.emplace_back(argument);
    }
  }
  if (line.arguments.empty()) line.arguments.emplace_back("benchmark");
  for (const auto& flag : default_flags) {
    const bool given = std::any_of(
        line.arguments.begin() + 1, line.arguments.end(),
        [&](const std::string& argument) { return flag_name(argument) == flag_name(flag); });
    if (!given) line.arguments.insert(line.arguments.begin() + 1, flag);
  }
  return line;
}

// Google Benchmark applies --benchmark_color only to its own reporters, so ours decides here:
// colour on a terminal unless the command line says otherwise; counters inline, so that one table
// header serves every benchmark although each has its own counter.
benchmark::ConsoleReporter::OutputOptions output_options(
    const std::vector<std::string>& arguments) {
  bool color = isatty(STDOUT_FILENO) == 1;
  for (const auto& argument : arguments) {
    if (argument == "--benchmark_color=false") color = false;
    if (argument == "--benchmark_color=true") color = true;
  }
  return color ? benchmark::ConsoleReporter::OO_Color : benchmark::ConsoleReporter::OO_None;
}

// The JSON object in `path`: empty when the file does not exist or is blank; nullopt (after a
// message on stderr) when it cannot be read or is not an object, so that we never overwrite a
// file we do not understand.
std::optional<nlohmann::json> load_results(const std::string& path) {
  std::error_code error;
  const bool exists = std::filesystem::exists(path, error);
  if (error) {
    std::cerr << "results: cannot access " << path << ": " << error.message() << '\n';
    return std::nullopt;
  }
  if (!exists) return nlohmann::json::object();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    std::cerr << "results: cannot read " << path << '\n';
    return std::nullopt;
  }
  if (text.str().find_first_not_of(" \t\r\n") == std::string::npos) {
    return nlohmann::json::object();
  }
  auto json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    std::cerr << "results: " << path << " does not hold a JSON object; not touching it\n";
    return std::nullopt;
  }
  return json;
}

}  // namespace

bool merge_results(const std::string& path, const Figures& figures) {
  auto json = load_results(path);
  if (!json) return false;
  for (const auto& [name, value] : figures) (*json)[name] = value;
  // Written next to the target and renamed over it, so an interrupted run leaves the old file.
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << json->dump(2) << '\n';
    if (!out.flush()) {
      std::cerr << "results: cannot write " << temporary << '\n';
      return false;
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::cerr << "results: cannot replace " << path << ": " << error.message() << '\n';
    return false;
  }
  return true;
}

bool parse_results_flag(int argc, char** argv, const char* usage, std::string& results) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--results" && i + 1 < argc) {
      results = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s\n", usage);
      return false;
    }
  }
  return true;
}

void print_summary(const Figures& figures) {
  int width = 24;
  for (const auto& [name, value] : figures) width = std::max(width, static_cast<int>(name.size()));
  std::printf("\n%-*s %16s\n", width, "figure", "value");
  for (const auto& [name, value] : figures) {
    // Rates are large and noisy beyond their integer part; ratios need their decimals.
    std::printf("%-*s %16.*f\n", width, name.c_str(), value >= 100 ? 0 : 3, value);
  }
  std::fflush(stdout);
}


void FigureReporter::ReportRuns(const std::vector<Run>& runs) {
  ConsoleReporter::ReportRuns(runs);
  for (const auto& run : runs) {
    if (run.error_occurred) continue;
    // With repetitions, aggregates follow the individual runs; the median then wins.
    if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median") continue;
    for (const auto& [name, counter] : run.counters) figures_[name] = counter.value;
  }
}

int run_benchmarks(int argc, char** argv, const std::vector<std::string>& default_flags,
                   const std::function<void(Figures&)>& derive) {
  auto line = parse_command_line(argc, argv, default_flags);
  if (!line) {
    std::cerr << "usage: " << (argc > 0 ? argv[0] : "benchmark")
              << " [--results FILE] [--benchmark_* flags]\n";
    return 2;
  }
  if (!line->results_path.empty() && !load_results(line->results_path)) return 1;

  std::vector<char*> pointers;
  for (auto& argument : line->arguments) pointers.push_back(argument.data());
  pointers.push_back(nullptr);
  int count = static_cast<int>(line->arguments.size());
  benchmark::Initialize(&count, pointers.data());
  if (benchmark::ReportUnrecognizedArguments(count, pointers.data())) return 2;

  FigureReporter reporter(output_options(line->arguments));
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  Figures figures = reporter.figures();
  if (derive) derive(figures);
  print_summary(figures);
  if (!line->results_path.empty() && !merge_results(line->results_path, figures)) return 1;
  return 0;
}

}  // namespace p2panda::bench
