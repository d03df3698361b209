// Shared start-up for memo's benchmark binaries: a table of suite flags, the run's
// context (machine, build, commit) in the JSON, progress lines, and an exit status
// that says whether anything was measured. Every suite's main() is:
//
//   int main(int argc, char** argv) {
//     memo_bench::Flags flags({
//         {"rows", "10M,50M", "row counts, comma-separated (k, M, G suffixes)",
//          memo_bench::counts(1, kMaxRows)},
//         {"stores", "all", "engines to run: all or a comma-separated list"},
//     });
//     if (!memo_bench::initialize(argc, argv, flags)) return 2;  // --help exits 0
//     ... register benchmarks from flags.get("rows"), flags.integers("rows") ...
//     return memo_bench::run();
//   }
//
// The table is the one place a suite's flags live: --help prints every flag with its
// description and default (then Google Benchmark's flags) and exits 0. A flag is given
// as --name=value or --name value; its check runs on the value given. Google
// Benchmark's --benchmark_* flags pass through (also as --benchmark_x value); anything
// else is refused with a message and exit status 2, so a typo never silently runs the
// default workload.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace benchmark {
class State;
namespace internal {
class Benchmark;
}
}  // namespace benchmark

namespace memo_bench {

// Checks one flag value; throws std::invalid_argument saying what is wrong with it.
using Check = std::function<void(const std::string& value)>;

struct Flag {
  Flag(std::string name, std::string default_value, std::string description, Check check = {});

  std::string name;           // without the leading "--"
  std::string default_value;  // used when the flag is not given; also shown by --help
  std::string description;    // one line, for --help
  Check check;                // empty: any value
};

// Common checks.
// A comma-separated list of at least one count (parse_count), each in [least, most].
Check counts(std::uint64_t least, std::uint64_t most);
// Exactly one count in [least, most].
Check count(std::uint64_t least, std::uint64_t most);
// One of the given words.
Check one_of(std::vector<std::string> words);

class Flags {
 public:
  explicit Flags(std::vector<Flag> table);

  const std::string& get(const std::string& name) const;
  // Comma-separated non-negative integers, with k/M/G suffixes (10M = 10000000).
  std::vector<std::uint64_t> integers(const std::string& name) const;
  std::vector<std::string> list(const std::string& name) const;

  // Parses the arguments Google Benchmark left; false with `error` set on a bad one.
  bool parse(int argc, char** argv, std::string& error);
  // Every suite flag: name, default and description, one flag per line.
  std::string usage() const;

 private:
  Flag* find(const std::string& name);

  std::vector<Flag> table_;
  std::vector<std::string> values_;  // parallel to table_
};

// Parses the flags (--help and -h print every flag and exit 0), prints the environment
// to stderr and records it, with the build's commit, compiler and flags, in the JSON
// context. False after printing why a flag is wrong.
bool initialize(int argc, char** argv, Flags& flags);

// Marks the running benchmark as skipped (SkipWithError) rather than measured, e.g.
// for lack of memory; run() fails when every benchmark was skipped.
void skip(benchmark::State& state, const std::string& benchmark, const std::string& why);

// Registers a benchmark (chain ->Threads(), ->Iterations() ... as with Google Benchmark's
// RegisterBenchmark) whose first failed run ends it: once a run reports an error
// (SkipWithError), the benchmark's remaining repetitions at that thread count are skipped
// with a message instead of run. Not only because their figures would be void: Google
// Benchmark 1.7.1 (Debian 12's libbenchmark) computes the aggregates (mean, median, ...)
// from the first repetition's statistics pointer, which it sets only for a run without
// an error, so a failed first repetition followed by two that pass crashes the process
// (fixed upstream in google/benchmark#2199). Every suite registers through this.
// A test hook: $MEMO_BENCH_FAIL_RUNS=N makes the first N runs of the process fail.
benchmark::internal::Benchmark* register_benchmark(const std::string& name,
                                                   std::function<void(benchmark::State&)> body);

// Runs the registered benchmarks; returns the process exit status: 0, or 1 when the
// run measured nothing (no benchmark matched, or every one was skipped), saying so.
int run();

// "[12.3 s] message" on stderr: long runs show what they are doing.
void progress(const std::string& message);

// Parses "10M", "200000000", "64k" (k, M, G: powers of ten): digits first, nothing
// else (no sign, no spaces). Throws std::invalid_argument.
std::uint64_t parse_count(const std::string& text);

// What the build was made from (benchmarks/build_info.cmake writes these at build time).
extern const char* const kGitCommit;
extern const char* const kCompiler;
extern const char* const kCompileFlags;

}  // namespace memo_bench
