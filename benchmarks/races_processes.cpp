// races/process_herd/cache_data/redis/processes:<P>: the herd of memo_races, with
// processes instead of threads. What a Streamlit app scaled to P replicas meets when a
// popular key expires: every replica misses it at once.
//
// One benchmark iteration is one herd. memo_races starts P copies of itself
// (kWorkerFlag), each of which makes the same cache_data cache -- same name, the redis
// store, the server given -- and says "ready"; when all are ready the parent tells them
// "go" at once (one line on each stdin), and each calls the cached function for one
// key and reports whether its function ran, how long the call took and whose value it
// got. Every herd uses a fresh cache name, so it starts from an empty cache. Process
// start-up, connecting and the cache's creation are outside the measurement.
//
// Counters: computations (function runs per herd: single flight means exactly 1.00),
// wrong_values (callers that got a value other than the one computed), waiters_p50_ms,
// waiters_p99_ms, waiters_max_ms (the callers that did not compute: compute time plus
// the wake-up and the transfer of the value), computer_ms (the one that computed), and
// the herd's time (go to the last caller's return) as the manual time. A herd with more
// or fewer than one computation, a wrong value or a worker that fails is an error.
#include "races_processes.h"

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "bench_main.h"
#include "memo/memo.h"
#include "support/child_process.h"

namespace memo_races {
namespace {

using Clock = std::chrono::steady_clock;

// The value every herd member asks for: who computed it, and a body worth sending.
std::vector<std::int64_t> herd_value(std::int64_t key) {
  std::vector<std::int64_t> value(1024, key);
  value[0] = ::getpid();
  return value;
}

struct Report {
  bool computed = false;
  double milliseconds = 0;
  long long value_from = 0;
};

struct HerdResult {
  std::vector<Report> reports;
  std::string error;
};

HerdResult run_herd(const ProcessHerdPlan& plan, int processes, const std::string& name) {
  HerdResult result;
  std::vector<std::unique_ptr<memo_test::ChildProcess>> members;
  for (int p = 0; p < processes; ++p) {
    members.push_back(std::make_unique<memo_test::ChildProcess>(
        std::vector<std::string>{"/proc/self/exe", kWorkerFlag, plan.server, name,
                                 std::to_string(plan.compute.count())},
        memo_test::ChildProcess::Pipes{.in = true, .out = true}));
  }
  for (auto& member : members) {
    const std::string line = member->line(std::chrono::seconds(60));
    if (line != "ready") {
      result.error = "a herd member did not start (said '" + line + "')";
      return result;
    }
  }
  for (auto& member : members) {
    if (!member->write("go\n")) {
      result.error = "could not start a herd member";
      return result;
    }
  }
  const auto done_within = std::chrono::seconds(120) + plan.compute * 2;
  for (auto& member : members) {
    const std::string line = member->line(std::chrono::duration_cast<std::chrono::milliseconds>(done_within));
    std::istringstream fields(line);
    std::string word;
    Report report;
    int computed = 0;
    if (!(fields >> word >> computed >> report.milliseconds >> report.value_from) || word != "done") {
      result.error = "a herd member failed (said '" + line + "')";
      return result;
    }
    report.computed = computed != 0;
    result.reports.push_back(report);
  }
  for (auto& member : members) {
    if (member->wait(std::chrono::seconds(60)) != 0) result.error = "a herd member exited badly";
  }
  return result;
}

double percentile(std::vector<double> values, double fraction) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1))];
}

std::string fresh_name() {
  static std::atomic<int> herds{0};
  std::random_device random;
  return "memo_races.process_herd." + std::to_string(::getpid()) + "." +
         std::to_string(herds.fetch_add(1)) + "." + std::to_string(random());
}

void run_benchmark(benchmark::State& state, const ProcessHerdPlan& plan, int processes,
                   const std::string& label) {
  memo_bench::progress(label);
  std::vector<double> waiters, computers;
  double computations = 0, wrong = 0;
  std::int64_t herds = 0;
  for (auto _ : state) {
    HerdResult herd = run_herd(plan, processes, fresh_name());
    if (herd.error.empty()) {
      int computed = 0;
      long long computer_pid = 0;
      for (const auto& report : herd.reports) {
        if (!report.computed) continue;
        ++computed;
        computer_pid = report.value_from;
      }
      for (const auto& report : herd.reports) {
        wrong += report.value_from != computer_pid;
        (report.computed ? computers : waiters).push_back(report.milliseconds);
      }
      computations += computed;
      if (computed != 1) {
        herd.error = "the function ran " + std::to_string(computed) + " times for one key in a herd of " +
                     std::to_string(processes) + " processes";
      }
    }
    if (!herd.error.empty()) {
      state.SkipWithError((label + ": " + herd.error).c_str());
      return;
    }
    double slowest = 0;
    for (const auto& report : herd.reports) slowest = std::max(slowest, report.milliseconds);
    state.SetIterationTime(slowest / 1000.0);
    ++herds;
  }
  using benchmark::Counter;
  state.counters["computations"] = Counter(computations, Counter::kAvgIterations);
  state.counters["wrong_values"] = Counter(wrong, Counter::kAvgIterations);
  state.counters["processes"] = processes;
  state.counters["compute_ms"] = static_cast<double>(plan.compute.count());
  state.counters["waiters_p50_ms"] = percentile(waiters, 0.50);
  state.counters["waiters_p99_ms"] = percentile(waiters, 0.99);
  state.counters["waiters_max_ms"] = percentile(waiters, 1.0);
  state.counters["computer_ms"] = percentile(computers, 0.50);
  memo_bench::progress(label + ": " + std::to_string(herds) + " herds done");
}

}  // namespace

void register_process_herd(const ProcessHerdPlan& plan) {
  for (int processes : plan.processes) {
    const std::string name = "races/process_herd/cache_data/redis/processes:" + std::to_string(processes);
    memo_bench::register_benchmark(name, [plan, processes, name](benchmark::State& state) {
      run_benchmark(state, plan, processes, name);
    })
        ->UseManualTime()
        ->Iterations(plan.herds)
        ->Unit(benchmark::kMillisecond);
  }
}

int process_herd_worker(int argc, char** argv) {
  // argv: memo_races --process_herd_worker SERVER NAME COMPUTE_MS
  if (argc != 5) {
    std::cerr << "memo_races: " << kWorkerFlag << " SERVER NAME COMPUTE_MS\n";
    return 2;
  }
  const std::string server = argv[2];
  const std::string name = argv[3];
  const auto compute = std::chrono::milliseconds(std::stoll(argv[4]));
  static bool computed = false;
  auto cached = memo::cache_data(
      [compute](std::int64_t key) {
        computed = true;
        std::this_thread::sleep_for(compute);
        return herd_value(key);
      },
      {.name = name, .store = "redis", .store_url = server, .show_spinner = false});
  std::printf("ready\n");
  std::fflush(stdout);
  char go[8] = {};
  if (!std::fgets(go, sizeof go, stdin)) return 3;
  const auto start = Clock::now();
  const std::vector<std::int64_t> value = cached(42);
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  const bool whole = value.size() == 1024 &&
                     std::all_of(value.begin() + 1, value.end(), [](std::int64_t v) { return v == 42; });
  std::printf("done %d %.3f %lld\n", computed ? 1 : 0, ms, whole ? static_cast<long long>(value[0]) : -1LL);
  std::fflush(stdout);
  // No clear here: a member that cleared could do so before a slower one has read the
  // value, which would then compute again. Each herd's cache name is fresh instead.
  return 0;
}

}  // namespace memo_races
