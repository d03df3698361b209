// The guide's "Mutation and concurrency issues" as exact checks, for every store engine:
// the scenarios live in scenarios/ (memo_scenarios/races.h); benchmarks/races.cpp
// measures the same runs at scale.
#include <catch2/catch.hpp>

#include <algorithm>
#include <stdexcept>

#include "memo/memo.h"
#include "memo_scenarios/races.h"
#include "memo_scenarios/session_crowd.h"
#include "support/test_helpers.h"

namespace races = memo_scenarios::races;
using races::Strategy;

namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kSessions = 8;
constexpr int kReruns = 100;
// The deliberately unsafe variants stay out of sanitizer runs (hidden tag). They use
// atomics, so they are not data races; `memo_tests "[unsafe]"` runs them by hand.
#define MEMO_UNSAFE_TAGS "[races][unsafe][.]"
#else
constexpr int kSessions = 16;
constexpr int kReruns = 500;
#define MEMO_UNSAFE_TAGS "[races][unsafe]"
#endif

std::vector<Strategy> copying_strategies() {
  std::vector<Strategy> chosen{Strategy::cache_data};
  if (races::available(Strategy::cache_data_cow)) chosen.push_back(Strategy::cache_data_cow);
  return chosen;
}

}  // namespace

TEST_CASE("races list: users A, B, A see 2, 3, 4 with cache_resource and 2, 2, 2 with cache_data",
          "[races]") {
  memo_scenarios::SessionCrowd users(2);
  for (const std::string& store : memo_test::in_process_store_names()) {
    CAPTURE(store);
    for (Strategy strategy : {Strategy::cache_resource, Strategy::cache_resource_locked}) {
      CAPTURE(races::to_string(strategy));
      const auto result = races::run_list(users, strategy, store, 3);
      CHECK(result.seen == std::vector<long>{2, 3, 4});
      CHECK(result.computations == 1);
    }
    for (Strategy strategy : copying_strategies()) {
      CAPTURE(races::to_string(strategy));
      const auto result = races::run_list(users, strategy, store, 3);
      CHECK(result.seen == std::vector<long>{2, 2, 2});
      CHECK(result.computations == 1);
    }
  }
}

TEST_CASE("races column: dropping 'Lat' in place breaks the next run only with cache_resource",
          "[races]") {
  memo_scenarios::SessionCrowd users(2);
  for (const std::string& store : memo_test::in_process_store_names()) {
    CAPTURE(store);
    const auto shared = races::run_column(users, Strategy::cache_resource, store, 3, 1000);
    CHECK(shared.failed_visits == 2);
    CHECK(shared.first_failed_visit == 1);
    CHECK(shared.first_error == "['Lat'] not found in axis");
    CHECK(shared.wrong_values == 0);
    CHECK(shared.computations == 1);
    for (Strategy strategy : copying_strategies()) {
      CAPTURE(races::to_string(strategy));
      const auto copied = races::run_column(users, strategy, store, 3, 1000);
      CHECK(copied.failed_visits == 0);
      CHECK(copied.first_failed_visit == -1);
      CHECK(copied.wrong_values == 0);
      CHECK(copied.computations == 1);
    }
  }
}

TEST_CASE("races race: copies and the locked resource lose no update and see no wrong value",
          "[races]") {
  memo_scenarios::SessionCrowd sessions(kSessions);
  const auto increments = std::uint64_t(kSessions) * kReruns;
  for (const std::string& store : memo_test::in_process_store_names()) {
    CAPTURE(store);
    const auto locked = races::run_race(
        sessions, {.strategy = Strategy::cache_resource_locked, .store = store, .reruns = kReruns});
    CHECK(locked.increments == increments);
    CHECK(locked.lost_updates == 0);
    CHECK(locked.wrong_values == 0);
    CHECK(locked.final_value == 1 + long(increments));
    CHECK(locked.computations == 1);
    for (Strategy strategy : copying_strategies()) {
      CAPTURE(races::to_string(strategy));
      const auto copied =
          races::run_race(sessions, {.strategy = strategy, .store = store, .reruns = kReruns});
      CHECK(copied.increments == increments);
      CHECK(copied.lost_updates == 0);
      CHECK(copied.wrong_values == 0);
      CHECK(copied.final_value == 1);
      CHECK(copied.computations == 1);
    }
  }
}

TEST_CASE("races race: the unsafe resource's count adds up (losses measured, not asserted)",
          MEMO_UNSAFE_TAGS) {
  memo_scenarios::SessionCrowd sessions(kSessions);
  for (const std::string& store : memo_test::in_process_store_names()) {
    CAPTURE(store);
    const auto unsafe = races::run_race(
        sessions, {.strategy = Strategy::cache_resource, .store = store, .reruns = kReruns, .gap = 50});
    CHECK(unsafe.increments == std::uint64_t(kSessions) * kReruns);
    // Every increment either shows in the final value or was lost; none appear from nowhere.
    CHECK(unsafe.lost_updates >= 0);
    CHECK(unsafe.lost_updates == std::int64_t(unsafe.increments) - (unsafe.final_value - 1));
    CHECK(unsafe.final_value >= 2);
    CHECK(unsafe.computations == 1);
  }
}

TEST_CASE("races bank: money is conserved with the locked resource and with copies", "[races]") {
  memo_scenarios::SessionCrowd sessions(kSessions);
  for (const std::string& store : memo_test::in_process_store_names()) {
    CAPTURE(store);
    const auto locked = races::run_bank(
        sessions, {.strategy = Strategy::cache_resource_locked, .store = store, .reruns = kReruns});
    CHECK(locked.transfers == std::uint64_t(kSessions) * kReruns);
    CHECK(locked.drift == 0);
    CHECK(locked.misbooked == 0);
    CHECK(locked.final_total == locked.opening_total);
    CHECK(locked.computations == 1);
    for (Strategy strategy : copying_strategies()) {
      CAPTURE(races::to_string(strategy));
      const auto copied =
          races::run_bank(sessions, {.strategy = strategy, .store = store, .reruns = kReruns});
      CHECK(copied.drift == 0);
      CHECK(copied.misbooked == 0);
      CHECK(copied.wrong_values == 0);
      CHECK(copied.computations == 1);
    }
  }
}

TEST_CASE("races bank: the unsafe resource runs and its ledger is checked (loss measured)",
          MEMO_UNSAFE_TAGS) {
  memo_scenarios::SessionCrowd sessions(kSessions);
  for (const std::string& store : memo_test::in_process_store_names()) {
    CAPTURE(store);
    const auto unsafe = races::run_bank(
        sessions, {.strategy = Strategy::cache_resource, .store = store, .reruns = kReruns});
    CHECK(unsafe.transfers == std::uint64_t(kSessions) * kReruns);
    CHECK(unsafe.drift == unsafe.final_total - unsafe.opening_total);
    CHECK(std::labs(unsafe.drift) <= unsafe.misbooked);  // drift is net of misbooking
    CHECK(unsafe.computations == 1);
  }
}

TEST_CASE("races herd: simultaneous misses run the function once per key, for every store",
          "[races]") {
  memo_scenarios::SessionCrowd sessions(kSessions);
  for (const std::string& store : memo_test::in_process_store_names()) {
    CAPTURE(store);
    auto strategies = copying_strategies();
    strategies.push_back(Strategy::cache_resource);
    for (Strategy strategy : strategies) {
      CAPTURE(races::to_string(strategy));
      for (int keys : {1, 4}) {
        CAPTURE(keys);
        const auto herd = races::run_herd(
            sessions, {.strategy = strategy, .store = store, .keys = keys,
                       .compute_time = std::chrono::microseconds(2000)});
        CHECK(herd.computations == std::uint64_t(keys));
        CHECK(herd.calls == std::uint64_t(kSessions) * keys);
        CHECK(herd.latencies.size() == herd.calls);
        CHECK(herd.wrong_values == 0);
        CHECK(herd.coalesced <= herd.calls - herd.computations);
      }
    }
  }
}

TEST_CASE("races session: each session's resource is released once on disconnect, globals stay",
          "[races]") {
  memo_scenarios::SessionCrowd sessions(kSessions);
  for (const std::string& store : memo_test::in_process_store_names()) {
    CAPTURE(store);
    const auto result = races::run_session(sessions, {.store = store, .reruns = 3});
    CHECK(result.computations == std::uint64_t(kSessions));
    CHECK(result.releases == std::vector<int>(kSessions, 1));
    CHECK(result.wrong_values == 0);
    CHECK(result.global_computations == 1);
    CHECK(result.global_releases == 0);
    CHECK(result.global_still_cached);
    CHECK(result.released_again == 0);
  }
}

TEST_CASE("races: strategies, scenarios and crowds reject bad input with clear errors", "[races]") {
  CHECK(races::parse_strategy("cache_resource_locked") == Strategy::cache_resource_locked);
  CHECK_THROWS_WITH(races::parse_strategy("cache_everything"),
                    Catch::Contains("unknown strategy 'cache_everything'"));
  CHECK_THROWS_WITH(races::parse_scenario("stampede"), Catch::Contains("known: list, column"));
  CHECK_THROWS_AS(memo_scenarios::SessionCrowd(0), std::invalid_argument);
  memo_scenarios::SessionCrowd two(2);
  CHECK_THROWS_WITH(races::run_list(two, Strategy::cache_data, "no_such_store", 3),
                    Catch::Contains("unknown store 'no_such_store'"));
  CHECK_THROWS_AS(races::run_bank(two, {.accounts = 1}), std::invalid_argument);
  const auto session_strategies = races::strategies_for(races::Scenario::session);
  CHECK(session_strategies == std::vector<Strategy>{Strategy::cache_resource});
  const auto race_strategies = races::strategies_for(races::Scenario::race);
  CHECK(std::count(race_strategies.begin(), race_strategies.end(),
                   Strategy::cache_resource_locked) == 1);
}

TEST_CASE("races: a crowd rethrows a session's exception after every session finished",
          "[races]") {
  memo_scenarios::SessionCrowd crowd(4);
  std::atomic<int> finished{0};
  CHECK_THROWS_WITH(crowd.run([&](int i) {
    finished.fetch_add(1);
    if (i == 2) throw std::runtime_error("session 2 failed");
  }),
                    "session 2 failed");
  CHECK(finished.load() == 4);
  crowd.run([&](int) { finished.fetch_add(1); });  // still usable afterwards
  CHECK(finished.load() == 8);
}

TEST_CASE("races: percentile is nearest-rank", "[races]") {
  using ns = std::chrono::nanoseconds;
  std::vector<ns> sample;
  for (int i = 1; i <= 100; ++i) sample.push_back(ns(i));
  CHECK(races::percentile(sample, 50) == ns(50));
  CHECK(races::percentile(sample, 99) == ns(99));
  CHECK(races::percentile(sample, 100) == ns(100));
  CHECK(races::percentile({}, 50) == ns(0));
}
