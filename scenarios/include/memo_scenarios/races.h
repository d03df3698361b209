// The guide's "Mutation and concurrency issues", as scenarios that can be measured.
//
// Every scenario is parameterized by a copy strategy (how a cached value reaches its
// caller) and a store engine name (memo::store_names()), and runs on a SessionCrowd:
//
//   list     users A, B, A... each call create_list() and do l[0] = l[0] + 1, in turn.
//            cache_resource shows 2, 3, 4...; cache_data shows 2, 2, 2.
//   column   a cached Frame loses column "Lat" in place on every run. With
//            cache_resource the second run fails with KeyError "['Lat'] not found in
//            axis"; with cache_data every run works.
//   race     every session reruns R times at once, each doing l[0] = l[0] + 1 as a
//            separate atomic load and store: lost updates, never undefined behaviour.
//   bank     the guide's bank: sessions move money between accounts of one cached
//            object at once; is money conserved?
//   herd     every session misses the same key(s) at the same moment: the function
//            must run exactly once per key (single-flight); callers' latency kept.
//   session  every session gets its own session-scoped resource; disconnecting
//            releases each exactly once and leaves global resources alone.
//
// Every run builds a fresh cache (a unique name), so runs never see each other's
// entries. Results report what was observed; the caller decides what is acceptable
// (tests assert exact values, benchmarks SkipWithError on a broken invariant).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "memo_scenarios/session_crowd.h"

namespace memo_scenarios::races {

enum class Strategy {
  cache_data,             // serialize: every caller decodes its own copy
  cache_data_cow,         // copy-on-write mapping of the stored bytes (docs/copy-costs.md)
  cache_resource,         // one shared object, mutated without a lock (the guide's bug)
  cache_resource_locked,  // one shared object guarded by its own mutex (the guide's fix)
};
std::string_view to_string(Strategy strategy);
// Throws std::invalid_argument naming the known strategies.
Strategy parse_strategy(std::string_view name);
// Whether every caller gets its own copy.
bool copies(Strategy strategy);
// cache_data_cow needs DataOptions::copy (memo::Copy::cow); false in builds without it.
bool available(Strategy strategy);

enum class Scenario { list, column, race, bank, herd, herd_keys, session };
std::string_view to_string(Scenario scenario);
// Throws std::invalid_argument naming the known scenarios.
Scenario parse_scenario(std::string_view name);
std::vector<Scenario> all_scenarios();
// The strategies worth measuring for a scenario (available ones, fixed order): the
// locked resource only where sessions write at once (race, bank), cache_data_cow only
// where the result is a Frame (column; for other types cow copies as serialize does),
// session scope only with cache_resource. Every run_* accepts every available strategy.
std::vector<Strategy> strategies_for(Scenario scenario);

// ---- list: the guide's create_list() example, deterministic -------------------------

struct ListResult {
  std::vector<long> seen;          // l[0] as each visit saw it after its write
  std::uint64_t computations = 0;  // times create_list() ran
};
// `visits` visits in turn: visit k is by session k % crowd.size() (A, B, A for 2 and 3).
ListResult run_list(SessionCrowd& crowd, Strategy strategy, const std::string& store,
                    int visits);

// ---- column: the guide's dropped "Lat" column, deterministic ------------------------

struct ColumnResult {
  int visits = 0;
  int failed_visits = 0;
  int first_failed_visit = -1;     // -1: none failed
  std::string first_error;         // what the first failing visit saw
  std::uint64_t wrong_values = 0;  // visits whose "Lon" checksum was not the loaded one
  std::uint64_t computations = 0;
};
// Each visit: df = load_data(url); display it (checksum of "Lon"); df.drop("Lat").
ColumnResult run_column(SessionCrowd& crowd, Strategy strategy, const std::string& store,
                        int visits, std::size_t rows);

// ---- race: concurrent l[0] = l[0] + 1 -----------------------------------------------

struct RaceConfig {
  Strategy strategy = Strategy::cache_resource;
  std::string store = "mutex_map";
  int reruns = 1000;  // per session
  // Spin iterations between the read and the write: the script's work between
  // `first = l[0]` and `l[0] = first + 1`. Widens the race window.
  int gap = 0;
};
struct RaceResult {
  std::uint64_t increments = 0;    // reruns that wrote l[0]
  // Shared object: increments - (final - initial). Copies: increments that did not
  // stick on the caller's own copy (a copy shared with another caller would show here).
  std::int64_t lost_updates = 0;
  // Shared object: reads lower than the value this session itself last wrote (the
  // counter went backwards under its feet). Copies: copies that did not start at the
  // original value, plus 1 if the cached value itself changed.
  std::uint64_t wrong_values = 0;
  std::uint64_t computations = 0;
  long initial_value = 0;
  long final_value = 0;  // l[0] of the cached object after the run
  std::chrono::nanoseconds elapsed{0};
};
RaceResult run_race(SessionCrowd& crowd, const RaceConfig& config);

// ---- bank: money moved between accounts of one cached object ------------------------

struct BankConfig {
  Strategy strategy = Strategy::cache_resource;
  std::string store = "mutex_map";
  int reruns = 1000;  // transfers per session
  int accounts = 8;
  long opening_balance = 1000;
  std::uint64_t seed = 20240501;  // each session's transfers: seed + session index
};
struct BankResult {
  std::uint64_t transfers = 0;
  long opening_total = 0;
  long final_total = 0;    // of the cached accounts
  long drift = 0;          // final - opening: money created (+) or destroyed (-)
  // Shared: sum over accounts of |balance - what the transfers' ledger says|.
  // Copies: the same, over every caller's own copy after its transfer.
  long misbooked = 0;
  // Copies that did not open with the opening balances, plus one per cached account
  // that changed; always 0 for shared strategies (nothing to compare with).
  std::uint64_t wrong_values = 0;
  std::uint64_t computations = 0;
  std::chrono::nanoseconds elapsed{0};
};
BankResult run_bank(SessionCrowd& crowd, const BankConfig& config);

// ---- herd: simultaneous misses -------------------------------------------------------

struct HerdConfig {
  Strategy strategy = Strategy::cache_resource;
  std::string store = "mutex_map";
  int keys = 1;  // every session calls every key, starting at key (index % keys)
  std::chrono::microseconds compute_time{2000};  // how long one computation takes
};
struct HerdResult {
  std::uint64_t calls = 0;
  std::uint64_t computations = 0;  // must equal keys
  std::uint64_t coalesced = 0;     // calls that waited on another caller's computation
  std::uint64_t wrong_values = 0;  // calls that got another key's value
  std::vector<std::chrono::nanoseconds> latencies;  // every call, start line to return
  std::chrono::nanoseconds elapsed{0};
};
HerdResult run_herd(SessionCrowd& crowd, const HerdConfig& config);

// ---- session: session-scoped resources -----------------------------------------------

struct SessionConfig {
  std::string store = "mutex_map";
  int reruns = 3;  // calls per session before disconnecting
};
struct SessionResult {
  std::uint64_t computations = 0;         // session-scoped resources made (one per session)
  std::vector<int> releases;              // per session, after disconnect_all
  std::uint64_t wrong_values = 0;         // calls handed another session's resource
  std::uint64_t global_computations = 0;  // the global resource: made once ...
  std::uint64_t global_releases = 0;      // ... never released by disconnects ...
  bool global_still_cached = false;       // ... and still served from the cache after
  std::uint64_t released_again = 0;       // releases caused by a second disconnect_all
  std::chrono::nanoseconds elapsed{0};
};
SessionResult run_session(SessionCrowd& crowd, const SessionConfig& config);

// Nearest-rank percentile (p in [0, 100]) of a sample; 0 for an empty one.
std::chrono::nanoseconds percentile(std::vector<std::chrono::nanoseconds> sample, double p);

}  // namespace memo_scenarios::races
