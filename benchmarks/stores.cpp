// memo_stores: throughput of memo's store engines beside their peers.
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
//   custom_{zipf,uniform}       --mix=GET,INSERT,ERASE percentages (as RocksDB's
//                               cache_bench and libcuckoo's universal_benchmark take
//                               them), keys by --mix_keys; bounded by --capacity if set
// --value_bytes gives every stored value that many bytes of its own (an allocation per
// insert); --capacity also replaces the eviction workloads' 10% of the keys. Every run
// reports ops and items_per_second (the same figure), hit_ratio, sampled latency
// percentiles with their maximum (--latency_histogram=on adds the histogram), and for
// the unbounded engine workloads bytes_per_entry: the resident memory the prefilled
// engine adds to a fresh process, per key (measured by running this program again with
// --memory_probe).
// Zipf keys come from YCSB's generator (tests/support/zipf.h) with exponent --zipf
// (0.99, YCSB's default); key and op streams are made from --seed before anything is
// timed. Engines: memo::store_engines() plus the peers
// found at build time (libcuckoo, rocksdb_lru, rocksdb_hcc). The redis engine (a server
// shared by processes: round trips, not cache lines) runs only when named, with a server:
// --engines=redis --redis_url=redis://host:port/db (or $MEMO_REDIS_URL); never in
// cache_resource's workloads (it keeps bytes). scripts/run_stores gives it its own table.
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
#include "memo/store.h"
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
  std::vector<Workload> adjusted;  // presets with --capacity applied, and the custom mix
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
  const auto value_bytes = flags.integers("value_bytes");
  if (value_bytes.size() != 1 || value_bytes[0] > (std::uint64_t{1} << 30)) {
    throw std::invalid_argument("--value_bytes takes one count up to 1G");
  }
  plan.settings.value_bytes = static_cast<std::size_t>(value_bytes[0]);
  const std::uint64_t needed = keys[0] * (kBytesPerKeyBound + value_bytes[0]);
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
  plan.settings.latency_histogram = flags.get("latency_histogram") == "on";
  const auto capacity = flags.integers("capacity");
  if (capacity.size() != 1) throw std::invalid_argument("--capacity takes one count (0 = default)");

  plan.threads = flags.integers("threads");
  if (plan.threads.empty()) throw std::invalid_argument("--threads needs at least one count");
  for (auto t : plan.threads) {
    if (t < 1 || t > 1024) throw std::invalid_argument("--threads: each count must be 1..1024");
  }

  // The presets (bounded ones with --capacity, if given), then the custom mix.
  for (Workload w : memo_bench::all_workloads()) {
    if (w.bounded) w.capacity = static_cast<std::size_t>(capacity[0]);
    plan.adjusted.push_back(w);
  }
  const std::string mix = flags.get("mix");
  if (!mix.empty()) {
    const auto pick = flags.get("mix_keys") == "uniform" ? memo_bench::KeyPick::uniform
                                                          : memo_bench::KeyPick::zipf;
    plan.adjusted.push_back(
        memo_bench::custom_workload(mix, pick, static_cast<std::size_t>(capacity[0])));
  }
  std::vector<const Workload*> workloads;
  for (const auto& w : plan.adjusted) workloads.push_back(&w);
  // With --mix and no --workloads, the custom mix alone.
  const std::string wanted =
      !mix.empty() && flags.get("workloads") == "all" ? plan.adjusted.back().name : flags.get("workloads");
  std::vector<std::string> wanted_list;
  for (std::size_t begin = 0; begin <= wanted.size();) {
    const std::size_t end = std::min(wanted.find(',', begin), wanted.size());
    if (end > begin) wanted_list.push_back(wanted.substr(begin, end - begin));
    begin = end + 1;
  }
  plan.workloads = select(wanted_list, workloads, [](const Workload* w) { return w->name; },
                          "--workloads");
  plan.engines = select(flags.list("engines"), memo_bench::engine_infos(),
                        [](const EngineInfo& e) { return e.name; }, "--engines");
  // "all" means this process's engines and peers: a remote engine's round trips belong in
  // a run (and a table) of their own, so it runs when named.
  if (flags.get("engines") == "all") {
    std::erase_if(plan.engines, [](const EngineInfo& e) { return e.remote; });
  }
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
      // cache_resource runs on memo's in-process engines only (a remote one keeps bytes).
      if (workload->level == memo_bench::Level::resource && (engine.is_peer || engine.remote)) continue;
      for (auto threads : plan.threads) {
        const std::string family = "stores/" + workload->name + "/" + engine.name;
        const std::string label = family + "/threads:" + std::to_string(threads);
        memo_bench::register_benchmark(
            family,
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
  benchmark::AddCustomContext("stores_value_bytes", std::to_string(s.value_bytes));
  for (const Workload* w : plan.workloads) {
    if (w->custom || w->capacity != 0) {
      benchmark::AddCustomContext(
          "stores_workload_" + w->name,
          "get " + std::to_string(1.0 - w->replace_fraction - w->insert_fraction - w->erase_fraction) +
              ", replace " + std::to_string(w->replace_fraction) + ", insert " +
              std::to_string(w->insert_fraction) + ", erase " + std::to_string(w->erase_fraction) +
              ", capacity " + (w->bounded ? std::to_string(w->capacity) : std::string("unbounded")));
    }
  }
  benchmark::AddCustomContext("stores_engines", engines);
  benchmark::AddCustomContext("stores_peers", peers);
  if (!peer_notes.empty()) benchmark::AddCustomContext("stores_engine_notes", peer_notes);
  std::cerr << "memo_stores: keys=" << s.keys << " zipf=" << s.zipf_exponent
            << " seed=" << s.seed << " engines=" << engines << "\n";
  if (!peer_notes.empty()) std::cerr << "memo_stores: " << peer_notes << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  memo_bench::Flags flags({
      {"keys", "1M", "keys each workload prefills and draws from (k, M suffixes)"},
      {"threads", "1,2,4,16,64", "thread counts, comma-separated"},
      {"engines", "all", "engines and peers: all or a comma-separated list"},
      {"workloads", "all", "workloads: all or a comma-separated list"},
      {"zipf", "0.99", "Zipf exponent of the *_zipf workloads, in (0, 1)"},
      {"seed", "20240611", "seed of the key and operation streams"},
      {"latency_every", "64", "time one operation in N for the latency percentiles (0 = off)"},
      {"latency_histogram", "off", "on: print each run's latency histogram (with its maximum) and "
                                   "add its buckets to the JSON as le_<N>ns counters",
       memo_bench::one_of({"off", "on"})},
      {"mix", "", "a custom workload: GET,INSERT,ERASE percentages summing to 100 (e.g. 90,5,5); "
                  "alone, it replaces the preset workloads unless --workloads names some",
       [](const std::string& mix) {
         if (!mix.empty()) memo_bench::custom_workload(mix, memo_bench::KeyPick::zipf, 0);
       }},
      {"mix_keys", "zipf", "key distribution of the --mix workload: zipf or uniform",
       memo_bench::one_of({"zipf", "uniform"})},
      {"capacity", "0", "entries a bounded workload may hold: the --mix workload (0: unbounded) "
                        "and eviction_* (0: 10% of --keys)",
       memo_bench::count(0, std::uint64_t{1} << 40)},
      {"value_bytes", "0", "bytes of filler in every stored value, allocated and written per "
                           "insert (gets read the key only)",
       memo_bench::count(0, std::uint64_t{1} << 30)},
      {"redis_url", "", "server of the redis engine (redis://host:port/db); empty: $MEMO_REDIS_URL, "
                        "and without either the engine is skipped"},
      {"memory_probe", "", "run nothing; print the bytes per entry that ENGINE, prefilled with --keys "
                           "keys, adds to this fresh process (the suite measures each engine so)"},
  });
  if (!memo_bench::initialize(argc, argv, flags)) return 2;
  memo_bench::set_redis_server(flags.get("redis_url"));
  for (const auto& engine : memo::store_engines()) {
    if (engine.remote && memo_bench::redis_server().empty()) {
      std::cerr << "memo_stores: skipping " << engine.name
                << ": no server given (--redis_url or MEMO_REDIS_URL)\n";
    }
  }
  Plan plan;
  try {
    plan = make_plan(flags);
  } catch (const std::exception& e) {
    std::cerr << argv[0] << ": " << e.what() << "\n";
    return 2;
  }
  if (const std::string probe = flags.get("memory_probe"); !probe.empty()) {
    return memo_bench::run_memory_probe(probe, plan.settings);
  }
  describe(plan);
  register_benchmarks(plan);
  const int status = memo_bench::run();
  memo_bench::print_last_histogram();
  if (const auto failed = memo_bench::failed_stores_runs(); failed > 0) {
    std::cerr << argv[0] << ": " << failed << " runs failed their checks (error_message above)\n";
    return 1;
  }
  return status;
}
