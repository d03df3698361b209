// Shared start-up for memo's benchmark binaries: strict flags, environment context,
// progress lines. Every suite's main() is:
//
//   int main(int argc, char** argv) {
//     memo_bench::Flags flags{{"rows", "10000000,50000000"}, {"stores", "all"}};
//     if (!memo_bench::initialize(argc, argv, flags)) return 2;
//     ... register benchmarks from flags.get("rows") ...
//     return memo_bench::run();
//   }
//
// Google Benchmark's own flags (--benchmark_*) pass through; a suite's flags are
// --name=value; anything else is rejected with a message and exit code 2, so a typo
// never silently runs the default workload.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace memo_bench {

class Flags {
 public:
  Flags(std::initializer_list<std::pair<const std::string, std::string>> defaults);

  const std::string& get(const std::string& name) const;
  // Comma-separated non-negative integers, with k/M/G suffixes (10M = 10000000).
  std::vector<std::uint64_t> integers(const std::string& name) const;
  std::vector<std::string> list(const std::string& name) const;
  bool parse(const std::string& argument, std::string& error);
  std::string usage() const;

 private:
  std::map<std::string, std::string> values_;
};

// Parses flags, prints the environment (build type, THP setting, cores, memory, seed
// policy) to stderr and into the JSON context. False after printing an error.
bool initialize(int argc, char** argv, Flags& flags);

// Runs the registered benchmarks; returns the process exit code.
int run();

// "[12.3 s] message" on stderr: long runs show what they are doing.
void progress(const std::string& message);

// Parses "10M", "200000000", "64k" (k, M, G: powers of ten). Throws std::invalid_argument.
std::uint64_t parse_count(const std::string& text);

}  // namespace memo_bench
