#include "bench_main.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
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

bool starts_with(const std::string& text, const char* prefix) { return text.rfind(prefix, 0) == 0; }

// Google Benchmark's flags that take a value, so "--benchmark_out FILE" can be joined
// into the "--benchmark_out=FILE" it parses. Its boolean flags work bare.
bool benchmark_flag_takes_value(const std::string& name) {
  static const std::set<std::string> valued = {
      "benchmark_filter",          "benchmark_min_time",        "benchmark_min_warmup_time",
      "benchmark_repetitions",     "benchmark_format",          "benchmark_out",
      "benchmark_out_format",      "benchmark_color",           "benchmark_perf_counters",
      "benchmark_context",         "benchmark_time_unit",       "v"};
  return valued.count(name) != 0;
}

// The suite's flags for the help printer Google Benchmark calls on --help (a plain
// function pointer, hence the global).
const Flags* help_flags = nullptr;
std::string program_name = "benchmark";

void print_help() {
  std::printf("usage: %s [SUITE FLAGS] [GOOGLE BENCHMARK FLAGS]\n\n", program_name.c_str());
  if (help_flags != nullptr) std::fputs(help_flags->usage().c_str(), stdout);
  std::printf("\nGoogle Benchmark's flags (those taking a value also as --name value):\n");
  std::fflush(stdout);
  benchmark::PrintDefaultHelp();
}

std::mutex skipped_mutex;
std::set<std::string> skipped_benchmarks;

// register_benchmark's memory: the runs (benchmark name and thread count) that failed,
// with the reason skip() gave (empty for any other error).
std::mutex failed_mutex;
std::map<std::string, std::string> failed_runs;
// The reason of this thread's last skip() in the run under way.
thread_local std::string skip_reason;
std::uint64_t runs_to_fail = [] {
  const char* runs = std::getenv("MEMO_BENCH_FAIL_RUNS");
  return runs != nullptr && *runs != '\0' ? std::strtoull(runs, nullptr, 10) : 0;
}();

// The arguments as Google Benchmark sees them; it keeps pointers into them (argv[0]
// becomes the JSON context's "executable"), so they live as long as the process.
std::vector<std::string> arguments;
std::vector<char*> argument_pointers;

}  // namespace

// ----------------------------------------------------------------------------- checks

Flag::Flag(std::string name, std::string default_value, std::string description, Check check)
    : name(std::move(name)),
      default_value(std::move(default_value)),
      description(std::move(description)),
      check(std::move(check)) {}

std::uint64_t parse_count(const std::string& text) {
  // Digits first: std::stoull would also take "+5", " 5" and "-5" (wrapped).
  if (text.empty() || text[0] < '0' || text[0] > '9') {
    throw std::invalid_argument("'" + text + "' is not a non-negative count");
  }
  std::size_t used = 0;
  unsigned long long value = 0;
  try {
    value = std::stoull(text, &used);
  } catch (const std::out_of_range&) {
    throw std::invalid_argument("'" + text + "' is too large");
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

Check counts(std::uint64_t least, std::uint64_t most) {
  return [least, most](const std::string& value) {
    const auto parts = split(value);
    if (parts.empty()) throw std::invalid_argument("lists no count");
    for (const auto& part : parts) {
      const std::uint64_t n = parse_count(part);
      if (n < least || n > most) {
        throw std::invalid_argument("'" + part + "' is out of range (" + std::to_string(least) + " to " +
                                    std::to_string(most) + ")");
      }
    }
  };
}

Check count(std::uint64_t least, std::uint64_t most) {
  const Check each = counts(least, most);
  return [each](const std::string& value) {
    if (value.find(',') != std::string::npos) throw std::invalid_argument("takes one count, not a list");
    each(value);
  };
}

Check one_of(std::vector<std::string> words) {
  return [words = std::move(words)](const std::string& value) {
    if (std::find(words.begin(), words.end(), value) != words.end()) return;
    std::string known;
    for (const auto& word : words) known += (known.empty() ? "" : ", ") + word;
    throw std::invalid_argument("'" + value + "' is not one of " + known);
  };
}

// ------------------------------------------------------------------------------ Flags

Flags::Flags(std::vector<Flag> table) : table_(std::move(table)) {
  for (const auto& flag : table_) values_.push_back(flag.default_value);
}

Flag* Flags::find(const std::string& name) {
  for (auto& flag : table_) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

const std::string& Flags::get(const std::string& name) const {
  for (std::size_t i = 0; i < table_.size(); ++i) {
    if (table_[i].name == name) return values_[i];
  }
  throw std::logic_error("memo_bench: no flag --" + name + " in this suite's table");
}

std::vector<std::string> Flags::list(const std::string& name) const { return split(get(name)); }

std::vector<std::uint64_t> Flags::integers(const std::string& name) const {
  std::vector<std::uint64_t> numbers;
  for (const auto& part : list(name)) numbers.push_back(parse_count(part));
  return numbers;
}

bool Flags::parse(int argc, char** argv, std::string& error) {
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (!starts_with(argument, "--") || argument.size() == 2) {
      error = "unexpected argument '" + argument + "': expected --name=value or --name value";
      return false;
    }
    const std::size_t equals = argument.find('=');
    const std::string name = argument.substr(2, equals == std::string::npos ? std::string::npos : equals - 2);
    Flag* flag = find(name);
    if (flag == nullptr) {
      error = "unknown flag '--" + name + "'";
      return false;
    }
    std::string value;
    if (equals != std::string::npos) {
      value = argument.substr(equals + 1);
    } else if (i + 1 < argc && !starts_with(argv[i + 1], "--")) {
      value = argv[++i];
    } else {
      error = "--" + name + " needs a value (--" + name + "=VALUE or --" + name + " VALUE)";
      return false;
    }
    if (flag->check) {
      try {
        flag->check(value);
      } catch (const std::invalid_argument& bad) {
        error = "--" + name + ": " + bad.what();
        return false;
      }
    }
    values_[static_cast<std::size_t>(flag - table_.data())] = value;
  }
  return true;
}

std::string Flags::usage() const {
  std::size_t width = 0;
  for (const auto& flag : table_) width = std::max(width, flag.name.size());
  std::string text = "Suite flags (--name=value or --name value):\n";
  for (const auto& flag : table_) {
    text += "  --" + flag.name + std::string(width - flag.name.size() + 2, ' ') + flag.description +
            " (default: " + (flag.default_value.empty() ? "none" : flag.default_value) + ")\n";
  }
  return text;
}

// ---------------------------------------------------------------------------- running

bool initialize(int argc, char** argv, Flags& flags) {
  program_name = argc > 0 ? argv[0] : "benchmark";
  help_flags = &flags;
  // "--benchmark_x value" -> "--benchmark_x=value", which is what Google Benchmark parses.
  std::vector<std::string>& joined = arguments;
  joined.clear();
  for (int i = 0; i < argc; ++i) {
    std::string argument = argv[i];
    if (i > 0 && starts_with(argument, "--") && argument.find('=') == std::string::npos &&
        benchmark_flag_takes_value(argument.substr(2)) && i + 1 < argc && !starts_with(argv[i + 1], "-")) {
      argument.append(1, '=').append(argv[++i]);  // (not "=" + string: GCC 12 -Wrestrict)
    }
    if (argument == "-h") argument = "--help";
    joined.push_back(std::move(argument));
  }
  std::vector<char*>& pointers = argument_pointers;
  pointers.clear();
  for (auto& argument : joined) pointers.push_back(argument.data());
  pointers.push_back(nullptr);
  int count = static_cast<int>(joined.size());
  // Removes the --benchmark_* flags it knows; on --help prints print_help and exits 0.
  benchmark::Initialize(&count, pointers.data(), &print_help);
  std::string error;
  if (!flags.parse(count, pointers.data(), error)) {
    std::cerr << program_name << ": " << error << " (" << program_name
              << " --help lists every flag)\n";
    return false;
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
  benchmark::AddCustomContext("memo_git_commit", kGitCommit);
  benchmark::AddCustomContext("memo_compiler", kCompiler);
  benchmark::AddCustomContext("memo_compile_flags", kCompileFlags);
  benchmark::AddCustomContext("transparent_hugepage", thp);
  benchmark::AddCustomContext("hardware_threads", cores);
  benchmark::AddCustomContext("memory_available_at_start", memory);
  std::cerr << "environment: build=" << build << " cores=" << cores << " thp=" << thp
            << " available=" << memory << "\n"
            << "built from: " << kGitCommit << " with " << kCompiler << "\n";
  return true;
}

void skip(benchmark::State& state, const std::string& benchmark, const std::string& why) {
  {
    std::lock_guard lock(skipped_mutex);
    skipped_benchmarks.insert(benchmark);
  }
  skip_reason = why;
  state.SkipWithError(why.c_str());
}

benchmark::internal::Benchmark* register_benchmark(const std::string& name,
                                                   std::function<void(benchmark::State&)> body) {
  return benchmark::RegisterBenchmark(name.c_str(), [name, body = std::move(body)](
                                                        benchmark::State& state) {
    // Every thread of a run decides alike: failed_runs changes only after a run's threads
    // have all passed the start of the timed loop (a barrier), never during one.
    const std::string run = name + "/threads:" + std::to_string(state.threads());
    std::optional<std::string> failed_before;
    {
      std::lock_guard lock(failed_mutex);
      if (auto found = failed_runs.find(run); found != failed_runs.end()) failed_before = found->second;
    }
    if (failed_before) {
      // A skip (not enough memory, ...) repeats its own reason, which the tables list.
      state.SkipWithError(
          failed_before->empty()
              ? "skipped: an earlier repetition of this benchmark failed (its error is above)"
              : failed_before->c_str());
      for (auto _ : state) {
      }
      return;
    }
    skip_reason.clear();
    body(state);
    std::lock_guard lock(failed_mutex);
    if (!state.error_occurred() && state.thread_index() == 0 && runs_to_fail > 0) {
      --runs_to_fail;
      state.SkipWithError("failed on purpose ($MEMO_BENCH_FAIL_RUNS)");
    }
    if (state.error_occurred()) {
      std::string& reason = failed_runs[run];
      if (reason.empty()) reason = skip_reason;
    }
  });
}

int run() {
  const std::size_t ran = benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::size_t skipped = 0;
  {
    std::lock_guard lock(skipped_mutex);
    skipped = skipped_benchmarks.size();
  }
  if (ran == 0) {
    std::cerr << program_name << ": measured nothing: no benchmark matched the flags given\n";
    return 1;
  }
  if (skipped >= ran) {
    std::cerr << program_name << ": measured nothing: all " << ran
              << " benchmarks were skipped (see the messages above, e.g. not enough memory)\n";
    return 1;
  }
  if (skipped > 0) {
    std::cerr << program_name << ": " << skipped << " of " << ran << " benchmarks were skipped\n";
  }
  return 0;
}

void progress(const std::string& message) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - process_start).count();
  std::fprintf(stderr, "[%7.1f s] %s\n", seconds, message.c_str());
  std::fflush(stderr);
}

}  // namespace memo_bench
