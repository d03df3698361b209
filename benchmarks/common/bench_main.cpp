#include "bench_main.h"

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "memo/memory.h"

namespace memo_bench {
namespace {

const auto process_start = std::chrono::steady_clock::now();

std::string read_first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line.empty() ? "unknown" : line;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

}  // namespace

Flags::Flags(std::initializer_list<std::pair<const std::string, std::string>> defaults)
    : values_(defaults) {}

const std::string& Flags::get(const std::string& name) const { return values_.at(name); }

std::vector<std::string> Flags::list(const std::string& name) const { return split(get(name)); }

std::vector<std::uint64_t> Flags::integers(const std::string& name) const {
  std::vector<std::uint64_t> numbers;
  for (const auto& part : list(name)) numbers.push_back(parse_count(part));
  return numbers;
}

std::uint64_t parse_count(const std::string& text) {
  std::size_t used = 0;
  unsigned long long value = 0;
  try {
    if (text.empty() || text[0] == '-') throw std::invalid_argument(text);
    value = std::stoull(text, &used);
  } catch (const std::exception&) {
    throw std::invalid_argument("'" + text + "' is not a non-negative count");
  }
  const std::string suffix = text.substr(used);
  std::uint64_t scale = 1;
  if (suffix == "k" || suffix == "K") scale = 1000;
  else if (suffix == "M") scale = 1000 * 1000;
  else if (suffix == "G") scale = 1000 * 1000 * 1000;
  else if (!suffix.empty()) throw std::invalid_argument("'" + text + "' has an unknown suffix");
  if (value > UINT64_MAX / scale) throw std::invalid_argument("'" + text + "' is too large");
  return value * scale;
}

bool Flags::parse(const std::string& argument, std::string& error) {
  if (argument.rfind("--", 0) != 0 || argument.find('=') == std::string::npos) {
    error = "expected --name=value, got '" + argument + "'";
    return false;
  }
  const std::string name = argument.substr(2, argument.find('=') - 2);
  auto found = values_.find(name);
  if (found == values_.end()) {
    error = "unknown flag '--" + name + "'";
    return false;
  }
  found->second = argument.substr(argument.find('=') + 1);
  return true;
}

std::string Flags::usage() const {
  std::string text = "suite flags (with defaults):\n";
  for (const auto& [name, value] : values_) text += "  --" + name + "=" + value + "\n";
  return text + "plus Google Benchmark's --benchmark_* flags\n";
}

bool initialize(int argc, char** argv, Flags& flags) {
  benchmark::Initialize(&argc, argv);  // removes the --benchmark_* flags it knows
  for (int i = 1; i < argc; ++i) {
    std::string error;
    const std::string argument = argv[i];
    if (argument == "--help" || argument == "-h") {
      std::cerr << flags.usage();
      return false;
    }
    if (!flags.parse(argument, error)) {
      std::cerr << argv[0] << ": " << error << "\n" << flags.usage();
      return false;
    }
  }
#ifdef NDEBUG
  const char* build = "release";
#else
  const char* build = "debug";
#endif
  const std::string thp = read_first_line("/sys/kernel/mm/transparent_hugepage/enabled");
  const std::string cores = std::to_string(std::thread::hardware_concurrency());
  const std::string memory =
      std::to_string(memo::available_memory_bytes() / (1024 * 1024)) + " MiB";
  benchmark::AddCustomContext("memo_build", build);
  benchmark::AddCustomContext("transparent_hugepage", thp);
  benchmark::AddCustomContext("hardware_threads", cores);
  benchmark::AddCustomContext("memory_available_at_start", memory);
  std::cerr << "environment: build=" << build << " cores=" << cores << " thp=" << thp
            << " available=" << memory << "\n";
  return true;
}

int run() {
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

void progress(const std::string& message) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - process_start).count();
  std::fprintf(stderr, "[%7.1f s] %s\n", seconds, message.c_str());
  std::fflush(stderr);
}

}  // namespace memo_bench
