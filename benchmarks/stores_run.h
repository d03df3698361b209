// The body of every memo_stores benchmark: one (workload, engine, threads) run.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "stores_workloads.h"

namespace memo_bench {

struct StoresSettings {
  std::uint32_t keys = 1000000;
  double zipf_exponent = 0.99;
  std::uint64_t seed = 0;
  std::uint64_t latency_every = 64;  // sample one operation in this many; 0 = off
};

// Runs on every thread of the run. The first thread to arrive builds and prefills the
// engine (untimed, shared by later runs of the same engine and key space); the last
// thread to finish checks what the run computed and sets the counters:
//   ops        operations per second over all threads (kIsRate), over the run's wall
//              time from the first operation of any thread to the last of any
//   hit_ratio  gets that found an entry / gets
//   p50_ns p99_ns p999_ns   sampled latencies (workloads with `latency`)
// A get that returns another key's entry, a miss where none is possible, or a store
// outside its capacity ends the run with SkipWithError.
void run_stores_benchmark(benchmark::State& state, const Workload& workload,
                          const std::string& engine, const StoresSettings& settings,
                          const std::string& name);

// Runs that ended with SkipWithError so far: main() turns any into a failing exit
// code, because Google Benchmark itself exits 0 after a skipped run.
std::uint64_t failed_stores_runs();

}  // namespace memo_bench
