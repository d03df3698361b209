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
  bool latency_histogram = false;    // print each run's histogram; bucket counters in the JSON
  std::size_t value_bytes = 0;       // filler bytes per stored value
};

// Runs on every thread of the run. The first thread to arrive builds and prefills the
// engine (untimed, shared by later runs of the same engine and key space); the last
// thread to finish checks what the run computed and sets the counters:
//   ops        operations per second over all threads (kIsRate), over the run's wall
//              time from the first operation of any thread to the last of any; the same
//              figure as items_per_second, which standard tools read
//   hit_ratio  gets that found an entry / gets
//   p50_ns p90_ns p99_ns p999_ns max_ns   sampled latencies (workloads with `latency`);
//              with latency_histogram, also le_<N>ns: samples that took at most N ns,
//              N = 64, 128, ... (powers of two), and the histogram on stderr
//   bytes_per_entry   what the prefilled engine adds to a fresh process's resident
//              memory, per key (unbounded engine-level workloads of in-process engines;
//              payloads included): see measure_bytes_per_entry()
// A get that returns another key's entry, a miss where none is possible, or a store
// outside its capacity ends the run with SkipWithError.
void run_stores_benchmark(benchmark::State& state, const Workload& workload,
                          const std::string& engine, const StoresSettings& settings,
                          const std::string& name);

// Bytes per entry of `engine` prefilled with settings.keys keys, measured in a child
// process (this executable with --memory_probe=ENGINE): in a process that has built and
// freed engines before, a new one reuses memory that is still resident (kept by the
// allocator, or freed late by an engine's deferred reclamation), so the growth of its
// resident memory undercounts the engine, by half or more for some. 0, with a message,
// when the probe fails.
double measure_bytes_per_entry(const std::string& engine, const StoresSettings& settings);

// The probe's side, in the fresh process: prefills `engine` and prints
// "bytes_per_entry=<x>" on stdout. Returns the exit status.
int run_memory_probe(const std::string& engine, const StoresSettings& settings);

// Prints the histogram of the last run (--latency_histogram); main() calls it at the end.
void print_last_histogram();

// Runs that ended with SkipWithError so far: main() turns any into a failing exit
// code, because Google Benchmark itself exits 0 after a skipped run.
std::uint64_t failed_stores_runs();

}  // namespace memo_bench
