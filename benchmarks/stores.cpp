// memo_stores: throughput of memo's store engines beside their peers (DESIGN.md §6).
//
// Names: stores/<workload>/<engine>/manual_time/threads:<T>: Google Benchmark inserts
// "manual_time" because each run reports its own wall time (stores_run.cpp says why
// the library's per-thread average would not do). Workloads:
//   read_heavy_{zipf,uniform}   95% get / 5% replace over --keys prefilled keys
//   mixed_{zipf,uniform}        50% get / 50% replace
//   eviction_{zipf,uniform}     capacity 10% of the keys; get, and insert on a miss
//   hot_key                     every thread gets the same key
//   resource_*                  the same through memo::cache_resource (hash + lookup +
//                               pin): what the decorator adds to the raw engine
// Zipf keys come from YCSB's generator (tests/support/zipf.h) with exponent --zipf
// (0.99, YCSB's default); key and op streams are made from --seed before anything is
// timed. Engines: memo::store_names() plus the peers
// found at build time (libcuckoo, rocksdb_lru, rocksdb_hcc).
//
//   build/release/benchmarks/memo_stores --keys=1M --threads=1,2,4,16,64
//       --benchmark_repetitions=3 --benchmark_min_time=0.2 --benchmark_format=json
//   (scripts/run_stores --quick|--full runs it and makes the tables and plots)
#include <benchmark/benchmark.h>

#include <iostream>
#include <set>
#include <stdexcept>
#include <string>

#include "adapters/engine.h"
#include "bench_main.h"
#include "memo/memory.h"
#include "stores_run.h"

namespace {

using memo_bench::EngineInfo;
using memo_bench::Workload;

// A generous upper bound on what one key costs: the prefilled entry in any engine or
// the resource cache (entry, index node, payload, ~600 bytes) plus the op streams of
// ten workloads (8 operations of 4 bytes per key each). Used only to refuse
// impossible sizes.
constexpr std::uint64_t kBytesPerKeyBound = 1000;

struct Plan {
  memo_bench::StoresSettings settings;
  std::vector<std::uint64_t> threads;
  std::vector<EngineInfo> engines;
  std::vector<const Workload*> workloads;
};

double parse_exponent(const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  // The YCSB generator (tests/support/zipf.h) is defined for exponents in (0, 1).
  if (used != text.size() || !(value > 0.0) || !(value < 1.0)) {
    throw std::invalid_argument("--zipf must be a number in (0, 1), got '" + text + "'");
  }
  return value;
}

template <class T, class Name>
std::vector<T> select(const std::vector<std::string>& wanted, const std::vector<T>& all,
                      Name name_of, const char* flag) {
  if (wanted.size() == 1 && wanted[0] == "all") return all;
  std::vector<T> chosen;
  for (const auto& name : wanted) {
    bool found = false;
    for (const auto& item : all) {
      if (name_of(item) == name) {
        chosen.push_back(item);
        found = true;
      }
    }
    if (!found) {
      std::string known;
      for (const auto& item : all) known += (known.empty() ? "" : ", ") + name_of(item);
      throw std::invalid_argument(std::string(flag) + ": unknown '" + name + "'; known: " + known);
    }
  }
  if (chosen.empty()) throw std::invalid_argument(std::string(flag) + " selects nothing");
  return chosen;
}

Plan make_plan(const memo_bench::Flags& flags) {
  Plan plan;
  const auto keys = flags.integers("keys");
  if (keys.size() != 1 || keys[0] < 10 || keys[0] > memo_bench::kIndexMask) {
    throw std::invalid_argument("--keys takes one count from 10 to " +
                                std::to_string(memo_bench::kIndexMask));
  }
  const std::uint64_t needed = keys[0] * kBytesPerKeyBound;
  if (needed > memo::available_memory_bytes()) {
    throw std::invalid_argument("--keys=" + flags.get("keys") + " needs about " +
                                std::to_string(needed >> 20) + " MiB; only " +
                                std::to_string(memo::available_memory_bytes() >> 20) +
                                " MiB are available");
  }
  plan.settings.keys = static_cast<std::uint32_t>(keys[0]);
  plan.settings.zipf_exponent = parse_exponent(flags.get("zipf"));
  const auto seed = flags.integers("seed");
  if (seed.size() != 1) throw std::invalid_argument("--seed takes one number");
  plan.settings.seed = seed[0];
  const auto every = flags.integers("latency_every");
  if (every.size() != 1) throw std::invalid_argument("--latency_every takes one count (0 = off)");
  plan.settings.latency_every = every[0];

  plan.threads = flags.integers("threads");
  if (plan.threads.empty()) throw std::invalid_argument("--threads needs at least one count");
  for (auto t : plan.threads) {
    if (t < 1 || t > 1024) throw std::invalid_argument("--threads: each count must be 1..1024");
  }

  std::vector<const Workload*> workloads;
  for (const auto& w : memo_bench::all_workloads()) workloads.push_back(&w);
  plan.workloads = select(flags.list("workloads"), workloads,
                          [](const Workload* w) { return w->name; }, "--workloads");
  plan.engines = select(flags.list("engines"), memo_bench::engine_infos(),
                        [](const EngineInfo& e) { return e.name; }, "--engines");
  return plan;
}

void register_benchmarks(const Plan& plan) {
  for (const auto& engine : plan.engines) {
    for (const Workload* workload : plan.workloads) {
      if (workload->bounded && !engine.bounds_entries) {
        std::cerr << "note: " << engine.name << " has no capacity bound; skipping "
                  << workload->name << "\n";
        continue;
      }
      if (workload->level == memo_bench::Level::resource && engine.is_peer) continue;
      for (auto threads : plan.threads) {
        const std::string family = "stores/" + workload->name + "/" + engine.name;
        const std::string label = family + "/threads:" + std::to_string(threads);
        benchmark::RegisterBenchmark(
            family.c_str(),
            [workload, engine = engine.name, settings = plan.settings, label](
                benchmark::State& state) {
              memo_bench::run_stores_benchmark(state, *workload, engine, settings, label);
            })
            ->Threads(static_cast<int>(threads))
            ->UseManualTime();
      }
    }
  }
}

void describe(const Plan& plan) {
  std::string engines;
  std::string peers;
  std::set<std::string> notes;
  for (const auto& engine : plan.engines) {
    engines += (engines.empty() ? "" : ",") + engine.name;
    if (engine.is_peer) peers += (peers.empty() ? "" : ",") + engine.name;
    if (!engine.note.empty()) notes.insert(engine.name + ": " + engine.note);
  }
  std::string peer_notes;
  for (const auto& note : notes) peer_notes += (peer_notes.empty() ? "" : "; ") + note;
  const auto& s = plan.settings;
  benchmark::AddCustomContext("stores_keys", std::to_string(s.keys));
  benchmark::AddCustomContext("stores_zipf_exponent", std::to_string(s.zipf_exponent));
  benchmark::AddCustomContext("stores_seed", std::to_string(s.seed));
  benchmark::AddCustomContext("stores_latency_every", std::to_string(s.latency_every));
  benchmark::AddCustomContext("stores_engines", engines);
  benchmark::AddCustomContext("stores_peers", peers);
  if (!peer_notes.empty()) benchmark::AddCustomContext("stores_engine_notes", peer_notes);
  std::cerr << "memo_stores: keys=" << s.keys << " zipf=" << s.zipf_exponent
            << " seed=" << s.seed << " engines=" << engines << "\n";
  if (!peer_notes.empty()) std::cerr << "memo_stores: " << peer_notes << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  memo_bench::Flags flags{{"keys", "1M"},
                          {"threads", "1,2,4,16,64"},
                          {"engines", "all"},
                          {"workloads", "all"},
                          {"zipf", "0.99"},
                          {"seed", "20240611"},
                          {"latency_every", "64"}};
  if (!memo_bench::initialize(argc, argv, flags)) return 2;
  Plan plan;
  try {
    plan = make_plan(flags);
  } catch (const std::exception& e) {
    std::cerr << argv[0] << ": " << e.what() << "\n";
    return 2;
  }
  describe(plan);
  register_benchmarks(plan);
  const int status = memo_bench::run();
  if (const auto failed = memo_bench::failed_stores_runs(); failed > 0) {
    std::cerr << argv[0] << ": " << failed << " runs failed their checks (error_message above)\n";
    return 1;
  }
  return status;
}
