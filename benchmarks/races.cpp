// memo_races: the guide's "Mutation and concurrency issues", measured per copy strategy,
// store engine and number of sessions. Scenarios are memo_scenarios/races.h; each
// benchmark iteration is one full scenario run on a fresh cache by a standing crowd of
// S sessions (threads; more than cores on purpose).
//
//   races/<scenario>/<strategy>/<store>/sessions:<S>
//
//   list       S users take turns (R rounds): l = create_list(); l[0] = l[0] + 1.
//   column     S users take turns (--column_reruns rounds) loading a --column_rows
//              Frame and dropping "Lat" in place; failed_runs counts KeyErrors.
//   race       all S sessions at once, R reruns each, l[0] = l[0] + 1 as an atomic load
//              then store (--gap spins between them): lost_updates, lost_per_1000.
//   bank       all S sessions at once, R transfers each between --accounts accounts:
//              money_drift (final - opening total), misbooked (|balance - ledger|).
//   herd       all S sessions miss one key at once; the function takes --compute_us.
//   herd_keys  the same with --herd_keys keys, every session calling every key.
//   session    S sessions use a session-scoped and a global resource, then disconnect.
//
// Counters: lost_updates, wrong_values, computations (per run), ops (kIsRate: scenario
// calls per second of real time). Every run's invariant is checked (SkipWithError).
//
//   process_herd  P processes (not threads) miss one key of a cache_data cache on the
//              redis store at once: races_processes.cpp; runs when a server is given
//              (--redis_url or $MEMO_REDIS_URL), on the redis store only.
//
//   memo_races --sessions=2,4,16,64 --stores=all --reruns=10000 --benchmark_out=races.json
//   (scripts/run_races --full|--quick --out DIR runs it and writes DIR/races.md)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <functional>
#include <iostream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_main.h"
#include "memo/memo.h"
#include "memo_scenarios/races.h"
#include "races_processes.h"

namespace {

namespace races = memo_scenarios::races;
using races::Scenario;
using races::Strategy;
using Clock = std::chrono::steady_clock;

struct Plan {
  int reruns = 10000;
  int gap = 0;
  int column_reruns = 4;
  std::size_t column_rows = 100'000;
  int accounts = 8;
  int herd_keys = 8;
  std::chrono::microseconds compute_time{2000};
  int session_reruns = 10;
};

struct Case {
  Scenario scenario;
  Strategy strategy;
  std::string store;
  int sessions;
};

std::string name_of(const Case& c) {
  return "races/" + std::string(races::to_string(c.scenario)) + "/" +
         std::string(races::to_string(c.strategy)) + "/" + c.store +
         "/sessions:" + std::to_string(c.sessions);
}

// What one run adds to a benchmark's totals; `error` set when an invariant broke.
struct Outcome {
  double ops = 0, lost = 0, wrong = 0, computations = 0, increments = 0;
  std::map<std::string, double> extra{};  // scenario-specific sums
  std::vector<std::chrono::nanoseconds> latencies{};
  std::string error{};
};

Outcome run_list(memo_scenarios::SessionCrowd& crowd, const Case& c, const Plan& plan) {
  const int visits = c.sessions * plan.reruns;
  const auto r = races::run_list(crowd, c.strategy, c.store, visits);
  Outcome o{.ops = double(visits), .computations = double(r.computations)};
  for (int k = 0; k < visits; ++k) {
    const long expected = races::copies(c.strategy) ? 2 : 2 + k;
    if (r.seen[std::size_t(k)] != expected) {
      ++o.wrong;
      if (o.error.empty())
        o.error = "visit " + std::to_string(k) + " saw " + std::to_string(r.seen[std::size_t(k)]) +
                  ", expected " + std::to_string(expected);
    }
  }
  if (r.computations != 1) o.error = "create_list ran " + std::to_string(r.computations) + " times";
  return o;
}

Outcome run_column(memo_scenarios::SessionCrowd& crowd, const Case& c, const Plan& plan) {
  const int visits = c.sessions * plan.column_reruns;
  const auto r = races::run_column(crowd, c.strategy, c.store, visits, plan.column_rows);
  Outcome o{.ops = double(visits), .wrong = double(r.wrong_values),
            .computations = double(r.computations)};
  o.extra["failed_runs"] = r.failed_visits;
  const int expected_failures = races::copies(c.strategy) ? 0 : visits - 1;
  if (r.failed_visits != expected_failures) {
    o.error = std::to_string(r.failed_visits) + " runs failed, expected " +
              std::to_string(expected_failures) + " (" + r.first_error + ")";
  } else if (r.failed_visits > 0 && r.first_error.find("'Lat'") == std::string::npos) {
    o.error = "the KeyError does not name the column: " + r.first_error;
  } else if (r.wrong_values != 0 || r.computations != 1) {
    o.error = "a run displayed a changed table or load_data ran more than once";
  }
  return o;
}

Outcome run_race(memo_scenarios::SessionCrowd& crowd, const Case& c, const Plan& plan) {
  const auto r = races::run_race(
      crowd, {.strategy = c.strategy, .store = c.store, .reruns = plan.reruns, .gap = plan.gap});
  Outcome o{.ops = double(r.increments), .lost = double(r.lost_updates),
            .wrong = double(r.wrong_values), .computations = double(r.computations),
            .increments = double(r.increments)};
  const bool must_be_exact = c.strategy != Strategy::cache_resource;
  if (r.increments != std::uint64_t(c.sessions) * std::uint64_t(plan.reruns)) {
    o.error = "wrong number of increments";
  } else if (r.lost_updates < 0 || r.lost_updates >= std::int64_t(r.increments)) {
    o.error = "impossible count: " + std::to_string(r.lost_updates) + " lost of " +
              std::to_string(r.increments);
  } else if (must_be_exact && (r.lost_updates != 0 || r.wrong_values != 0)) {
    o.error = std::string(races::to_string(c.strategy)) + " lost " +
              std::to_string(r.lost_updates) + " updates and saw " +
              std::to_string(r.wrong_values) + " wrong values";
  } else if (r.computations != 1) {
    o.error = "create_list ran " + std::to_string(r.computations) + " times";
  }
  return o;
}

Outcome run_bank(memo_scenarios::SessionCrowd& crowd, const Case& c, const Plan& plan) {
  const auto r = races::run_bank(crowd, {.strategy = c.strategy, .store = c.store,
                                         .reruns = plan.reruns, .accounts = plan.accounts});
  Outcome o{.ops = double(r.transfers), .wrong = double(r.wrong_values),
            .computations = double(r.computations)};
  o.extra["money_drift"] = double(r.drift);
  o.extra["money_lost"] = double(-r.drift);
  o.extra["misbooked"] = double(r.misbooked);
  const bool must_conserve = c.strategy != Strategy::cache_resource;
  if (r.drift != r.final_total - r.opening_total || std::labs(r.drift) > r.misbooked) {
    o.error = "inconsistent bank totals";
  } else if (must_conserve && (r.drift != 0 || r.misbooked != 0 || r.wrong_values != 0)) {
    o.error = std::string(races::to_string(c.strategy)) + " drifted by " +
              std::to_string(r.drift) + " and misbooked " + std::to_string(r.misbooked);
  } else if (r.computations != 1) {
    o.error = "the bank was opened " + std::to_string(r.computations) + " times";
  }
  return o;
}

Outcome run_herd(memo_scenarios::SessionCrowd& crowd, const Case& c, const Plan& plan) {
  const int keys = c.scenario == Scenario::herd ? 1 : plan.herd_keys;
  auto r = races::run_herd(crowd, {.strategy = c.strategy, .store = c.store, .keys = keys,
                                   .compute_time = plan.compute_time});
  Outcome o{.ops = double(r.calls), .wrong = double(r.wrong_values),
            .computations = double(r.computations)};
  o.extra["keys"] = keys;
  o.extra["coalesced"] = double(r.coalesced);
  o.latencies = std::move(r.latencies);
  if (r.computations != std::uint64_t(keys)) {
    o.error = std::to_string(r.computations) + " computations for " + std::to_string(keys) +
              " keys";
  } else if (r.wrong_values != 0) {
    o.error = "a caller got another key's value";
  }
  return o;
}

Outcome run_session(memo_scenarios::SessionCrowd& crowd, const Case& c, const Plan& plan) {
  const auto r = races::run_session(crowd, {.store = c.store, .reruns = plan.session_reruns});
  Outcome o{.ops = double(c.sessions) * plan.session_reruns * 2,
            .wrong = double(r.wrong_values), .computations = double(r.computations)};
  double releases = 0;
  for (int n : r.releases) releases += n;
  o.extra["releases"] = releases;
  const bool each_once =
      std::all_of(r.releases.begin(), r.releases.end(), [](int n) { return n == 1; });
  if (!each_once || r.released_again != 0) {
    o.error = "session resources were not released exactly once each";
  } else if (r.global_releases != 0 || !r.global_still_cached || r.global_computations != 1) {
    o.error = "disconnecting sessions touched the global resource";
  } else if (r.computations != std::uint64_t(c.sessions) || r.wrong_values != 0) {
    o.error = "a session got another session's resource";
  }
  return o;
}

Outcome run_once(memo_scenarios::SessionCrowd& crowd, const Case& c, const Plan& plan) {
  switch (c.scenario) {
    case Scenario::list: return run_list(crowd, c, plan);
    case Scenario::column: return run_column(crowd, c, plan);
    case Scenario::race: return run_race(crowd, c, plan);
    case Scenario::bank: return run_bank(crowd, c, plan);
    case Scenario::herd:
    case Scenario::herd_keys: return run_herd(crowd, c, plan);
    case Scenario::session: return run_session(crowd, c, plan);
  }
  throw std::logic_error("unknown scenario");
}

void run_benchmark(benchmark::State& state, const Case& c, const Plan& plan) {
  static std::set<std::string> announced;
  const std::string name = name_of(c);
  if (announced.insert(name).second) memo_bench::progress(name);
  memo_scenarios::SessionCrowd crowd(c.sessions);  // started before the timed loop
  Outcome total;
  std::int64_t runs = 0;
  for (auto _ : state) {
    Outcome o = run_once(crowd, c, plan);
    if (!o.error.empty()) {
      state.SkipWithError((name + ": " + o.error).c_str());
      break;
    }
    ++runs;
    total.ops += o.ops;
    total.lost += o.lost;
    total.wrong += o.wrong;
    total.computations += o.computations;
    total.increments += o.increments;
    for (const auto& [key, value] : o.extra) total.extra[key] += value;
    total.latencies.insert(total.latencies.end(), o.latencies.begin(), o.latencies.end());
  }
  if (runs == 0) return;
  using benchmark::Counter;
  state.counters["ops"] = Counter(total.ops, Counter::kIsRate);
  if (c.scenario == Scenario::race) {
    state.counters["lost_updates"] = Counter(total.lost, Counter::kAvgIterations);
  }
  state.counters["wrong_values"] = Counter(total.wrong, Counter::kAvgIterations);
  state.counters["computations"] = Counter(total.computations, Counter::kAvgIterations);
  for (const auto& [key, value] : total.extra) {
    state.counters[key] = Counter(value, Counter::kAvgIterations);
  }
  if (total.increments > 0) {
    state.counters["increments"] = Counter(total.increments, Counter::kAvgIterations);
    state.counters["lost_per_1000"] = 1000.0 * total.lost / total.increments;
  }
  if (!total.latencies.empty()) {
    auto micros = [&](double p) {
      return double(races::percentile(total.latencies, p).count()) / 1000.0;
    };
    state.counters["p50_us"] = micros(50);
    state.counters["p99_us"] = micros(99);
    state.counters["max_us"] = micros(100);
  }
}

int positive(const memo_bench::Flags& flags, const std::string& name, std::uint64_t most) {
  const auto values = flags.integers(name);
  if (values.size() != 1 || values[0] < 1 || values[0] > most) {
    throw std::invalid_argument("--" + name + " must be one number from 1 to " +
                                std::to_string(most) + ", not '" + flags.get(name) + "'");
  }
  return int(values[0]);
}

template <class T, class Parse>
std::vector<T> chosen(const memo_bench::Flags& flags, const std::string& name,
                      const std::vector<T>& all, Parse parse) {
  if (flags.get(name) == "all") return all;
  std::vector<T> picked;
  for (const auto& item : flags.list(name)) picked.push_back(parse(item));
  if (picked.empty()) throw std::invalid_argument("--" + name + " names nothing");
  return picked;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == memo_races::kWorkerFlag) {
    return memo_races::process_herd_worker(argc, argv);
  }
  memo_bench::Flags flags({
      {"sessions", "2,4,16,64", "session counts S (one thread each), comma-separated"},
      {"stores", "all", "engines: all or a comma-separated list"},
      {"scenarios", "all", "all, or a list of list, column, race, bank, herd, herd_keys, session; "
                           "process_herd: that one alone"},
      {"strategies", "all", "copy strategies: all or a comma-separated list"},
      {"reruns", "10000", "R: rounds per session in list, race and bank"},
      {"gap", "0", "spin iterations between the read and the write of l[0] in race"},
      {"column_reruns", "4", "rounds per session in column"},
      {"column_rows", "100k", "rows of the frame that column loads"},
      {"accounts", "8", "accounts in bank (at least 2)"},
      {"herd_keys", "8", "keys in herd_keys"},
      {"compute_us", "2000", "how long the herd's function runs, in microseconds"},
      {"session_reruns", "10", "rounds per session in session"},
      {"redis_url", "", "server for process_herd (redis://host:port/db); empty: $MEMO_REDIS_URL, "
                        "and without either process_herd is skipped"},
      {"process_herd", "2,4,16", "process counts P of process_herd, comma-separated, or off"},
      {"process_herds", "10", "herds per P in process_herd"},
      {"process_compute_ms", "50", "how long process_herd's function runs, in milliseconds"},
  });
  if (!memo_bench::initialize(argc, argv, flags)) return 2;
  Plan plan;
  std::vector<std::uint64_t> sessions;
  std::vector<std::string> stores;
  std::vector<Scenario> scenarios;
  std::vector<Strategy> strategies;
  memo_races::ProcessHerdPlan process_herd;
  try {
    plan.reruns = positive(flags, "reruns", 10'000'000);
    plan.gap = flags.get("gap") == "0" ? 0 : positive(flags, "gap", 1'000'000);
    plan.column_reruns = positive(flags, "column_reruns", 1000);
    plan.column_rows = std::size_t(positive(flags, "column_rows", 100'000'000));
    plan.accounts = positive(flags, "accounts", 1'000'000);
    if (plan.accounts < 2) throw std::invalid_argument("--accounts must be at least 2");
    plan.herd_keys = positive(flags, "herd_keys", 100'000);
    plan.compute_time = std::chrono::microseconds(positive(flags, "compute_us", 10'000'000));
    plan.session_reruns = positive(flags, "session_reruns", 1'000'000);
    sessions = flags.integers("sessions");
    for (auto s : sessions) {
      if (s < 1 || s > std::uint64_t(memo_scenarios::SessionCrowd::kMaxSessions)) {
        throw std::invalid_argument("--sessions values must be 1 to " +
                                    std::to_string(memo_scenarios::SessionCrowd::kMaxSessions));
      }
    }
    if (sessions.empty()) throw std::invalid_argument("--sessions names nothing");
    // The scenarios run on memo's in-process engines; a remote one (redis) keeps bytes
    // only and has its own scenario, process_herd.
    std::vector<std::string> known;
    for (const auto& engine : memo::store_engines()) {
      if (!engine.remote) known.emplace_back(engine.name);
    }
    stores = chosen<std::string>(flags, "stores", known, [&](const std::string& s) {
      if (std::find(known.begin(), known.end(), s) == known.end()) {
        memo::make_store(s, {});  // throws, listing the known stores, when unknown
        throw std::invalid_argument(s + " keeps its entries on a server; it runs in process_herd "
                                        "(--process_herd, --redis_url), not in --stores");
      }
      return s;
    });
    if (flags.get("process_herd") != "off") {
      process_herd.server = flags.get("redis_url");
      if (process_herd.server.empty()) {
        if (const char* env = std::getenv("MEMO_REDIS_URL"); env && *env) process_herd.server = env;
      }
      for (auto p : flags.integers("process_herd")) {
        if (p < 1 || p > 256) throw std::invalid_argument("--process_herd values must be 1 to 256");
        process_herd.processes.push_back(int(p));
      }
      process_herd.herds = positive(flags, "process_herds", 100000);
      process_herd.compute = std::chrono::milliseconds(positive(flags, "process_compute_ms", 600000));
    }
    // --scenarios=process_herd: the multi-process herd alone.
    if (flags.get("scenarios") != "process_herd") {
      scenarios = chosen<Scenario>(flags, "scenarios", races::all_scenarios(),
                                   [](const std::string& s) { return races::parse_scenario(s); });
    }
    strategies = chosen<Strategy>(flags, "strategies", {}, [](const std::string& s) {
      const Strategy strategy = races::parse_strategy(s);
      if (!races::available(strategy)) {
        throw std::invalid_argument(s + " is not available in this build");
      }
      return strategy;
    });
  } catch (const std::exception& error) {
    std::cerr << argv[0] << ": " << error.what() << "\n" << flags.usage();
    return 2;
  }
  benchmark::AddCustomContext("race_gap", std::to_string(plan.gap));
  benchmark::AddCustomContext("race_reruns", std::to_string(plan.reruns));
  const bool every_strategy = flags.get("strategies") == "all";
  int registered = 0;
  for (Scenario scenario : scenarios) {
    for (Strategy strategy : races::strategies_for(scenario)) {
      if (!every_strategy &&
          std::find(strategies.begin(), strategies.end(), strategy) == strategies.end()) {
        continue;
      }
      for (const std::string& store : stores) {
        for (auto s : sessions) {
          const Case c{scenario, strategy, store, int(s)};
          memo_bench::register_benchmark(name_of(c), [c, plan](benchmark::State& state) {
            run_benchmark(state, c, plan);
          })
              ->UseRealTime()
              ->Unit(benchmark::kMillisecond);
          ++registered;
        }
      }
    }
  }
  if (!process_herd.processes.empty()) {
    if (process_herd.server.empty()) {
      std::cerr << argv[0] << ": skipping process_herd: no server given (--redis_url or MEMO_REDIS_URL)\n";
    } else {
      memo_races::register_process_herd(process_herd);
      registered += int(process_herd.processes.size());
    }
  }
  if (registered == 0) {
    std::cerr << argv[0] << ": the chosen scenarios and strategies leave nothing to run\n";
    return 2;
  }
  memo_bench::progress("memo_races: " + std::to_string(registered) + " benchmarks registered");
  return memo_bench::run();
}
