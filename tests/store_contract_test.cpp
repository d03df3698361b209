// The Store contract (core/include/memo/store.h), checked against every engine in
// memo::store_names(). Each test case runs once per engine (Catch2 GENERATE); a
// failure names the engine through CAPTURE.
//
// Remote engines (redis: the engine table's `remote` trait) keep bytes on a server that
// other processes share. They run every case whose semantics apply to them -- find,
// first-writer-wins insert, erase, clear, max_entries -- against the test server, each
// store in a namespace of its own (so it starts empty, as an in-process store does),
// with entries compared by key and id (a remote store hands back copies rebuilt from
// bytes). What does not apply is skipped by name, with the reason: removal reporting
// (RemovedList and the exactly-once audit: the bytes live in another process and no
// on_release can apply to them) and expiry by the caller's logical clock (a remote
// store's expiry is the server's, from StoreConfig::ttl; tests/redis_store_test.cpp
// tests it).
#include <algorithm>
#include <atomic>
#include <barrier>
#include <catch2/catch.hpp>
#include <cstdio>
#include <latch>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <unistd.h>

#include "memo/store.h"
#include "memo/stores/sharded_lru.h"
#include "support/store_testing.h"
#if MEMO_HAVE_HIREDIS
#include "support/redis_testing.h"
#endif

using memo::Clock;
using memo::EntryPtr;
using memo::Key;
using memo::RemovalCause;
using memo::RemovedList;
using memo::StoreConfig;
using namespace memo_test;

namespace {

bool is_remote(const std::string& engine) {
  for (const auto& row : memo::store_engines()) {
    if (row.name == engine) return row.remote;
  }
  return false;
}

// A remote engine gets the test server and a fresh namespace: a new, empty store.
StoreConfig configured(const std::string& engine, StoreConfig config) {
#if MEMO_HAVE_HIREDIS
  if (is_remote(engine)) {
    config.server = memo_test::redis::standalone_url();
    config.namespace_key = memo_test::redis::fresh_namespace();
  }
#endif
  return config;
}

// False when `engine` is remote and there is no server to run it against: a loud skip,
// or a failure under scripts/test (MEMO_TEST_REDIS_REQUIRED).
bool runnable(const std::string& engine) {
  if (!is_remote(engine)) return true;
#if MEMO_HAVE_HIREDIS
  if (!memo_test::redis::standalone_url().empty()) return true;
  if (memo_test::redis::required()) FAIL("MEMO_TEST_REDIS_REQUIRED is set but no Redis server is available");
#endif
  WARN("SKIPPED " << engine << ": no server (set MEMO_TEST_REDIS_URL; see scripts/redis-servers)");
  return false;
}

#define FOR_EACH_ENGINE(engine)                                          \
  const std::string engine = GENERATE(from_range(memo::store_names())); \
  CAPTURE(engine);                                                       \
  if (!runnable(engine)) return

// Leaves a test case that does not apply to remote engines, saying why.
#define SKIP_REMOTE(engine, reason)                  \
  if (is_remote(engine)) {                           \
    SUCCEED("skipped for " << (engine) << ": " << reason); \
    return;                                          \
  }

const Clock::time_point t0 = Clock::now();

std::unique_ptr<memo::Store> make(const std::string& engine, std::size_t max_entries = 0,
                                  std::size_t shards = 0) {
  return memo::make_store(engine, configured(engine, StoreConfig{max_entries, shards}));
}

std::size_t count_cause(const RemovedList& removed, RemovalCause cause) {
  return static_cast<std::size_t>(std::count_if(
      removed.begin(), removed.end(), [cause](const memo::Removed& r) { return r.cause == cause; }));
}

// `removed` holds one report: `entry`, under `key`, for `cause`.
void check_single_report(const RemovedList& removed, const EntryPtr& entry, const Key& key,
                         RemovalCause cause) {
  REQUIRE(removed.size() == 1);
  CHECK(removed[0].entry == entry);
  CHECK(removed[0].key == key);
  CHECK(removed[0].cause == cause);
}

// Every engine with one shard (engines that do not shard ignore it), so that its
// eviction policy applies to the whole store.
std::vector<EngineConfig> unsharded_engines(std::size_t max_entries) {
  std::vector<EngineConfig> all;
  for (const auto& engine : memo::store_engines()) {
    all.push_back({std::string(engine.name), {max_entries, 1}});
  }
  return all;
}

// Engines whose policy is exact LRU, with the configuration that makes it so (one shard).
std::vector<EngineConfig> exact_lru_engines(std::size_t max_entries) {
  std::vector<EngineConfig> exact;
  for (const auto& engine : memo::store_engines()) {
    if (engine.eviction == memo::EvictionPolicy::clock) continue;
    exact.push_back({std::string(engine.name), {max_entries, 1}});
  }
  return exact;
}

}  // namespace

TEST_CASE("store registry: every row of the engine table is an engine - unknown names are refused") {
  std::vector<std::string> from_table;
  std::vector<memo::StoreKind> kinds;
#define MEMO_STORE_ENGINE(name, ...) \
  from_table.push_back(#name);       \
  kinds.push_back(memo::StoreKind::name);
#include "memo/store_engines.def"
#undef MEMO_STORE_ENGINE
  REQUIRE_FALSE(from_table.empty());
  CHECK(memo::store_names() == from_table);
  REQUIRE(memo::store_engines().size() == from_table.size());
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    CHECK(memo::to_string(kinds[i]) == from_table[i]);
    CHECK(memo::store_engines()[i].name == from_table[i]);
    CHECK(make(from_table[i])->name() == from_table[i]);
  }
  CHECK(memo::to_string(memo::StoreKind::mutex_map) == "mutex_map");
  CHECK(memo::to_string(memo::StoreKind::sharded_lru) == "sharded_lru");
  CHECK_THROWS_WITH(make("no_such_store"),
                    Catch::Contains("sharded_lru") && Catch::Contains("no_such_store"));
}

TEST_CASE("store contract: find returns the inserted entry and null for absent keys") {
  FOR_EACH_ENGINE(engine);
  auto store = make(engine);
  RemovedList removed;
  CHECK(store->find(test_key(1), t0, removed) == nullptr);
  auto a = make_entry(test_key(1), 1);
  CHECK(same_entry(store->insert(test_key(1), a, t0, removed), a));
  CHECK(same_entry(store->find(test_key(1), t0, removed), a));
  CHECK(store->find(test_key(2), t0, removed) == nullptr);
  CHECK(store->size() == 1);
  CHECK(removed.empty());
}

TEST_CASE("store contract: insert-if-absent keeps the first writer's entry") {
  FOR_EACH_ENGINE(engine);
  auto store = make(engine);
  RemovedList removed;
  auto first = make_entry(test_key(7), 1);
  auto second = make_entry(test_key(7), 2);
  CHECK(same_entry(store->insert(test_key(7), first, t0, removed), first));
  CHECK(same_entry(store->insert(test_key(7), second, t0, removed), first));
  CHECK(same_entry(store->find(test_key(7), t0, removed), first));
  CHECK(store->size() == 1);
  CHECK(removed.empty());
}

TEST_CASE("store contract: erase without expected removes whatever is stored, reported once") {
  FOR_EACH_ENGINE(engine);
  auto store = make(engine);
  RemovedList removed;
  auto a = make_entry(test_key(3), 1);
  store->insert(test_key(3), a, t0, removed);
  CHECK_FALSE(store->erase(test_key(4), nullptr, RemovalCause::erased, removed));
  CHECK(store->erase(test_key(3), nullptr, RemovalCause::erased, removed));
  CHECK_FALSE(store->erase(test_key(3), nullptr, RemovalCause::erased, removed));
  CHECK(store->find(test_key(3), t0, removed) == nullptr);
  CHECK(store->size() == 0);
  if (is_remote(engine)) return;  // reports no removals (see the top of this file)
  check_single_report(removed, a, test_key(3), RemovalCause::erased);
}

TEST_CASE("store contract: erase with expected removes only that very entry") {
  FOR_EACH_ENGINE(engine);
  auto store = make(engine);
  RemovedList removed;
  auto stale = make_entry(test_key(5), 1);
  auto fresh = make_entry(test_key(5), 2);
  store->insert(test_key(5), stale, t0, removed);
  REQUIRE(store->erase(test_key(5), stale.get(), RemovalCause::expired, removed));
  store->insert(test_key(5), fresh, t0, removed);
  // A late decision about `stale` must not remove its replacement.
  CHECK_FALSE(store->erase(test_key(5), stale.get(), RemovalCause::expired, removed));
  CHECK(same_entry(store->find(test_key(5), t0, removed), fresh));
  CHECK(store->erase(test_key(5), fresh.get(), RemovalCause::erased, removed));
  CHECK(store->size() == 0);
  if (is_remote(engine)) return;  // reports no removals (see the top of this file)
  REQUIRE(removed.size() == 2);
  CHECK(removed[0].entry == stale);
  CHECK(removed[0].cause == RemovalCause::expired);
  CHECK(removed[1].entry == fresh);
  CHECK(removed[1].cause == RemovalCause::erased);
}

TEST_CASE("store contract: clear removes and reports every entry as cleared") {
  FOR_EACH_ENGINE(engine);
  auto bounded = GENERATE(false, true);
  CAPTURE(bounded);
  auto store = make(engine, bounded ? 1000 : 0);
  RemovedList removed;
  std::set<std::uint64_t> ids;
  for (std::uint64_t i = 1; i <= 300; ++i) {
    store->insert(test_key(i), make_entry(test_key(i), i), t0, removed);
    ids.insert(i);
  }
  REQUIRE(store->size() == 300);
  store->clear(removed);
  CHECK(store->size() == 0);
  const bool reports = !is_remote(engine);  // remote engines report no removals
  if (reports) {
    CHECK(removed.size() == 300);
    CHECK(count_cause(removed, RemovalCause::cleared) == 300);
    CHECK(tally_reports(removed) == 0);
    std::set<std::uint64_t> reported;
    for (const auto& r : removed) reported.insert(id_of(r.entry));
    CHECK(reported == ids);
  }
  for (std::uint64_t i = 1; i <= 300; ++i) CHECK(store->find(test_key(i), t0, removed) == nullptr);
  // The store is usable after a clear, and the frames came back.
  for (std::uint64_t i = 1; i <= 300; ++i) {
    auto e = make_entry(test_key(i), 1000 + i);
    CHECK(same_entry(store->insert(test_key(i), e, t0, removed), e));
  }
  CHECK(store->size() == 300);
  CHECK(removed.size() == (reports ? 300 : 0));
}

TEST_CASE("store contract: an expired entry is absent to find and reported once as expired") {
  FOR_EACH_ENGINE(engine);
  SKIP_REMOTE(engine, "its expiry is the server's clock and StoreConfig::ttl, not the entry's "
                      "deadline against the caller's logical `now` (tests/redis_store_test.cpp)");
  auto bounded = GENERATE(false, true);
  CAPTURE(bounded);
  auto store = make(engine, bounded ? 8 : 0);
  RemovedList removed;
  const auto deadline = t0 + std::chrono::seconds(10);
  auto e = make_entry(test_key(9), 1, deadline);
  store->insert(test_key(9), e, t0, removed);
  CHECK(store->find(test_key(9), deadline - std::chrono::nanoseconds(1), removed) == e);
  CHECK(store->size() == 1);
  CHECK(store->find(test_key(9), deadline, removed) == nullptr);  // expired at its deadline
  CHECK(store->find(test_key(9), deadline, removed) == nullptr);
  CHECK(store->size() == 0);
  REQUIRE(removed.size() == 1);
  CHECK(removed[0].entry == e);
  CHECK(removed[0].cause == RemovalCause::expired);
  // Expiry is lazy: time passing alone removes nothing.
  auto lazy = make_entry(test_key(10), 2, t0);
  store->insert(test_key(10), lazy, t0 - std::chrono::seconds(1), removed);
  CHECK(store->size() == 1);
  CHECK(removed.size() == 1);
}

TEST_CASE("store contract: insert over an expired entry replaces it and reports it expired") {
  FOR_EACH_ENGINE(engine);
  SKIP_REMOTE(engine, "its expiry is the server's clock and StoreConfig::ttl, not the entry's "
                      "deadline against the caller's logical `now` (tests/redis_store_test.cpp)");
  auto bounded = GENERATE(false, true);
  CAPTURE(bounded);
  auto store = make(engine, bounded ? 4 : 0);
  RemovedList removed;
  const auto later = t0 + std::chrono::seconds(5);
  auto old_entry = make_entry(test_key(11), 1, t0 + std::chrono::seconds(1));
  auto new_entry = make_entry(test_key(11), 2);
  store->insert(test_key(11), old_entry, t0, removed);
  CHECK(store->insert(test_key(11), new_entry, later, removed) == new_entry);
  CHECK(store->find(test_key(11), later, removed) == new_entry);
  CHECK(store->size() == 1);
  REQUIRE(removed.size() == 1);
  CHECK(removed[0].entry == old_entry);
  CHECK(removed[0].cause == RemovalCause::expired);
  // erase with expected still tells the two apart.
  CHECK_FALSE(store->erase(test_key(11), old_entry.get(), RemovalCause::erased, removed));
  CHECK(store->erase(test_key(11), new_entry.get(), RemovalCause::erased, removed));
}

TEST_CASE("store contract: replace overwrites a live entry, reported as erased, and inserts an absent one") {
  FOR_EACH_ENGINE(engine);
  auto store = make(engine);
  RemovedList removed;
  auto first = make_entry(test_key(12), 1);
  auto second = make_entry(test_key(12), 2);
  store->replace(test_key(12), first, t0, removed);
  CHECK(same_entry(store->find(test_key(12), t0, removed), first));
  store->replace(test_key(12), second, t0, removed);
  CHECK(same_entry(store->find(test_key(12), t0, removed), second));
  CHECK(store->size() == 1);
  // A null entry is refused before anything changes.
  CHECK_THROWS_AS(store->replace(test_key(12), nullptr, t0, removed), std::invalid_argument);
  CHECK(same_entry(store->find(test_key(12), t0, removed), second));
  if (is_remote(engine)) return;  // reports no removals (see the top of this file)
  check_single_report(removed, first, test_key(12), RemovalCause::erased);
}

TEST_CASE("store contract: replace reports an expired entry it displaces as expired") {
  FOR_EACH_ENGINE(engine);
  SKIP_REMOTE(engine, "its expiry is the server's clock and StoreConfig::ttl, not the entry's "
                      "deadline against the caller's logical `now` (tests/redis_store_test.cpp)");
  auto store = make(engine);
  RemovedList removed;
  const auto later = t0 + std::chrono::seconds(5);
  auto old_entry = make_entry(test_key(13), 1, t0 + std::chrono::seconds(1));
  auto new_entry = make_entry(test_key(13), 2);
  store->insert(test_key(13), old_entry, t0, removed);
  store->replace(test_key(13), new_entry, later, removed);
  CHECK(store->find(test_key(13), later, removed) == new_entry);
  CHECK(store->size() == 1);
  check_single_report(removed, old_entry, test_key(13), RemovalCause::expired);
}

TEST_CASE("store contract: in a full store replace evicts only for a new key") {
  FOR_EACH_ENGINE(engine);
  auto store = make(engine, 2);
  RemovedList removed;
  store->insert(test_key(1), make_entry(test_key(1), 1), t0, removed);
  store->insert(test_key(2), make_entry(test_key(2), 2), t0, removed);
  auto again = make_entry(test_key(2), 3);
  store->replace(test_key(2), again, t0, removed);
  CHECK(store->size() == 2);
  CHECK(same_entry(store->find(test_key(2), t0, removed), again));
  CHECK(store->find(test_key(1), t0, removed) != nullptr);
  auto newcomer = make_entry(test_key(3), 4);
  store->replace(test_key(3), newcomer, t0, removed);
  CHECK(store->size() == 2);
  CHECK(same_entry(store->find(test_key(3), t0, removed), newcomer));
  if (is_remote(engine)) return;  // reports no removals (see the top of this file)
  CHECK(count_cause(removed, RemovalCause::erased) == 1);
  CHECK(count_cause(removed, RemovalCause::evicted) == 1);
}

TEST_CASE("store contract: an unbounded store keeps every entry") {
  FOR_EACH_ENGINE(engine);
  auto store = make(engine);
  RemovedList removed;
  // A remote engine pays round trips per insert: a tenth as many.
  const std::uint64_t kEntries = is_remote(engine) ? 2000 : 20000;
  std::vector<EntryPtr> entries;
  for (std::uint64_t i = 0; i < kEntries; ++i) {
    entries.push_back(make_entry(test_key(i), i + 1));
    store->insert(test_key(i), entries.back(), t0, removed);
  }
  CHECK(store->size() == kEntries);
  CHECK(removed.empty());
  std::size_t found = 0;
  for (std::uint64_t i = 0; i < kEntries; ++i) found += same_entry(store->find(test_key(i), t0, removed), entries[i]);
  CHECK(found == kEntries);
}

TEST_CASE("store contract: a bounded store evicts to max_entries and reports each eviction") {
  FOR_EACH_ENGINE(engine);
  const std::size_t max_entries = GENERATE(1, 7, 64);
  CAPTURE(max_entries);
  auto store = make(engine, max_entries);
  RemovedList removed;
  constexpr std::uint64_t kInserts = 1000;
  std::size_t over_bound = 0;
  std::size_t just_inserted_missing = 0;
  for (std::uint64_t i = 0; i < kInserts; ++i) {
    auto e = make_entry(test_key(i), i + 1);
    store->insert(test_key(i), e, t0, removed);
    if (store->size() > max_entries) ++over_bound;
    // Every shard or frame can hold at least one entry: the newest is never the victim.
    if (!same_entry(store->find(test_key(i), t0, removed), e)) ++just_inserted_missing;
  }
  CHECK(over_bound == 0);
  CHECK(just_inserted_missing == 0);
  CHECK(store->size() == max_entries);
  if (is_remote(engine)) {
    // No reports to count: the survivors must be exactly the newest max_entries keys.
    std::size_t survivors = 0;
    for (std::uint64_t i = 0; i < kInserts; ++i) survivors += store->find(test_key(i), t0, removed) != nullptr;
    CHECK(survivors == max_entries);
    for (std::uint64_t i = kInserts - max_entries; i < kInserts; ++i) CHECK(store->find(test_key(i), t0, removed));
    return;
  }
  CHECK(removed.size() == kInserts - max_entries);
  CHECK(count_cause(removed, RemovalCause::evicted) == removed.size());
  CHECK(tally_reports(removed) == 0);
}

TEST_CASE("store contract: a recently used entry survives the next eviction") {
  // Holds for exact LRU and for CLOCK; sharded_lru only with one shard (otherwise the
  // victim is chosen within the new key's shard).
  const auto setup = GENERATE(from_range(unsharded_engines(4)));
  const std::uint64_t used = GENERATE(0, 1, 2, 3);
  CAPTURE(setup.engine, used);
  if (!runnable(setup.engine)) return;
  auto store = memo::make_store(setup.engine, configured(setup.engine, setup.config));
  RemovedList removed;
  for (std::uint64_t i = 0; i < 4; ++i) store->insert(test_key(i), make_entry(test_key(i), i + 1), t0, removed);
  REQUIRE(store->find(test_key(used), t0, removed) != nullptr);
  store->insert(test_key(100), make_entry(test_key(100), 100), t0, removed);
  if (is_remote(setup.engine)) {
    CHECK(store->size() == 4);  // one went (a remote engine does not report which)
  } else {
    REQUIRE(removed.size() == 1);
    CHECK(id_of(removed[0].entry) != used + 1);
  }
  CHECK(store->find(test_key(used), t0, removed) != nullptr);
  CHECK(store->find(test_key(100), t0, removed) != nullptr);
}

TEST_CASE("store contract: exact LRU order for every LRU engine (one shard)") {
  const auto setup = GENERATE(from_range(exact_lru_engines(5)));
  CAPTURE(setup.engine);
  if (!runnable(setup.engine)) return;
  auto store = memo::make_store(setup.engine, configured(setup.engine, setup.config));
  RemovedList removed;
  for (std::uint64_t i = 1; i <= 5; ++i) store->insert(test_key(i), make_entry(test_key(i), i), t0, removed);
  // Recency now, oldest first: 1 2 3 4 5. Uses: 3, 1, then a hit-insert on 4.
  store->find(test_key(3), t0, removed);
  store->find(test_key(1), t0, removed);
  store->insert(test_key(4), make_entry(test_key(4), 99), t0, removed);
  // Oldest first: 2 5 3 1 4. Four new keys evict exactly those four in order.
  if (is_remote(setup.engine)) {
    // No reports: the survivors must be exactly the keys LRU keeps (looked at only at
    // the end: a find in between would count as a use).
    for (std::uint64_t i = 6; i <= 9; ++i) store->insert(test_key(i), make_entry(test_key(i), i), t0, removed);
    std::vector<std::uint64_t> kept;
    for (std::uint64_t i = 1; i <= 9; ++i) {
      if (store->find(test_key(i), t0, removed)) kept.push_back(i);
    }
    CHECK(kept == std::vector<std::uint64_t>{4, 6, 7, 8, 9});
    return;
  }
  for (std::uint64_t i = 6; i <= 9; ++i) store->insert(test_key(i), make_entry(test_key(i), i), t0, removed);
  std::vector<std::uint64_t> evicted;
  for (const auto& r : removed) evicted.push_back(id_of(r.entry));
  CHECK(evicted == std::vector<std::uint64_t>{2, 5, 3, 1});
  CHECK(store->find(test_key(4), t0, removed) != nullptr);
}

TEST_CASE("sharded_lru: default shard count and clamping to max_entries") {
  const std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t automatic = memo::sharded_lru_shard_count(StoreConfig{0, 0});
  CHECK(automatic >= 16);
  CHECK(automatic >= 4 * threads);
  CHECK((automatic & (automatic - 1)) == 0);
  CHECK(memo::sharded_lru_shard_count(StoreConfig{0, 5}) == 5);
  CHECK(memo::sharded_lru_shard_count(StoreConfig{3, 0}) == 3);
  CHECK(memo::sharded_lru_shard_count(StoreConfig{100, 8}) == 8);
}

TEST_CASE("store contract: racing inserts on one key all return the same winner") {
  FOR_EACH_ENGINE(engine);
  const std::size_t max_entries = GENERATE(0, 1, 2);
  CAPTURE(max_entries);
  constexpr int kThreads = 8;
  constexpr int kRounds = 100;
  std::size_t disagreements = 0;
  std::size_t winners_missing = 0;
  for (int round = 0; round < kRounds; ++round) {
    auto store = make(engine, max_entries);
    const Key key = test_key(static_cast<std::uint64_t>(round));
    std::vector<std::uint64_t> got(kThreads);
    std::barrier start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        RemovedList removed;
        auto mine = make_entry(key, static_cast<std::uint64_t>(t) + 1);
        start.arrive_and_wait();
        got[static_cast<std::size_t>(t)] = id_of(store->insert(key, mine, t0, removed));
      });
    }
    for (auto& thread : threads) thread.join();
    RemovedList removed;
    const std::uint64_t stored = id_of(store->find(key, t0, removed));
    for (auto id : got) disagreements += id != got[0];
    winners_missing += stored != got[0] || stored == 0;
  }
  CHECK(disagreements == 0);
  CHECK(winners_missing == 0);
}

TEST_CASE("store contract: max_entries holds after every insert, with concurrent inserters") {
  FOR_EACH_ENGINE(engine);
  constexpr std::size_t kMax = 50;
  constexpr int kThreads = 8;
  const bool remote = is_remote(engine);
  const std::uint64_t kPerThread = remote ? 200 : 4000;  // round trips per insert
  auto store = make(engine, kMax);
  std::atomic<std::size_t> over_bound{0};
  std::atomic<std::size_t> bad_reports{0};
  std::atomic<std::size_t> reported{0};
  std::atomic<bool> done{false};
  // A watcher samples size() while inserts are in flight: the bound holds at all times.
  std::thread watcher([&] {
    while (!done.load()) {
      if (store->size() > kMax) over_bound.fetch_add(1);
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      RemovedList removed;
      for (std::uint64_t i = 0; i < kPerThread; ++i) {
        const std::uint64_t n = static_cast<std::uint64_t>(t) * kPerThread + i;
        store->insert(test_key(n), make_entry(test_key(n), n + 1), t0, removed);
        if (store->size() > kMax) over_bound.fetch_add(1);
      }
      bad_reports.fetch_add(tally_reports(removed));
      reported.fetch_add(removed.size());
    });
  }
  for (auto& thread : threads) thread.join();
  done.store(true);
  watcher.join();
  CHECK(over_bound.load() == 0);
  CHECK(bad_reports.load() == 0);
  CHECK(store->size() == kMax);
  if (!remote) CHECK(reported.load() == kThreads * kPerThread - kMax);  // remote: no reports
}

TEST_CASE("store contract: every removed entry is reported exactly once under concurrency") {
  FOR_EACH_ENGINE(engine);
  SKIP_REMOTE(engine, "it reports no removals: the bytes live in another process, so there is "
                      "nothing to audit exactly once");
  const std::size_t max_entries = GENERATE(0, 16);
  CAPTURE(max_entries);
  constexpr int kThreads = 8;
  constexpr int kOpsPerThread = 6000;
  constexpr std::uint64_t kKeys = 48;
  auto store = make(engine, max_entries);
  std::vector<std::vector<std::shared_ptr<const TestEntry>>> made(kThreads);
  std::vector<RemovedList> removed_by(kThreads);
  std::atomic<std::size_t> wrong_key{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      SplitMix64 rng(1000 + static_cast<std::uint64_t>(t));
      RemovedList& removed = removed_by[static_cast<std::size_t>(t)];
      for (int i = 0; i < kOpsPerThread; ++i) {
        const std::uint64_t k = rng.next_below(kKeys);
        const Key key = test_key(k);
        // Logical time: a few ticks either way makes some entries expire.
        const auto now = t0 + std::chrono::nanoseconds(i);
        const std::uint64_t dice = rng.next_below(100);
        if (dice < 25) {
          auto e = make_entry(key, made[static_cast<std::size_t>(t)].size() + 1);
          made[static_cast<std::size_t>(t)].push_back(e);
          e->went_in.store(true);  // a replace always goes in
          store->replace(key, e, now, removed);
        } else if (dice < 40) {
          const auto expires = rng.next_below(2) ? memo::Entry::never
                                                 : now + std::chrono::nanoseconds(rng.next_below(50));
          auto e = make_entry(key, made[static_cast<std::size_t>(t)].size() + 1, expires);
          made[static_cast<std::size_t>(t)].push_back(e);
          EntryPtr stored = store->insert(key, e, now, removed);
          if (stored == e) e->went_in.store(true);
          if (!(as_test(*stored).key == key)) wrong_key.fetch_add(1);
        } else if (dice < 80) {
          EntryPtr found = store->find(key, now, removed);
          if (found && !(as_test(*found).key == key)) wrong_key.fetch_add(1);
          if (found && dice < 50) store->erase(key, found.get(), RemovalCause::erased, removed);
        } else if (dice < 99) {
          store->erase(key, nullptr, RemovalCause::erased, removed);
        } else if (rng.next_below(10) == 0) {
          store->clear(removed);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  RemovedList final_clear;
  store->clear(final_clear);
  CHECK(store->size() == 0);
  std::size_t broken = tally_reports(final_clear);
  std::size_t expired_without_deadline = 0;
  for (const auto& removed : removed_by) {
    broken += tally_reports(removed);
    for (const auto& r : removed) {
      if (r.cause == RemovalCause::expired && r.entry->expires_at() == memo::Entry::never) {
        ++expired_without_deadline;
      }
    }
  }
  std::size_t went_in = 0;
  std::size_t not_exactly_once = 0;
  for (const auto& entries : made) {
    for (const auto& e : entries) {
      went_in += e->went_in.load();
      // Went in: reported exactly once. Never went in: never reported.
      if (e->times_reported.load() != (e->went_in.load() ? 1 : 0)) ++not_exactly_once;
    }
  }
  CHECK(wrong_key.load() == 0);
  CHECK(broken == 0);
  CHECK(expired_without_deadline == 0);
  CHECK(not_exactly_once == 0);
  CHECK(went_in > 0);
}

TEST_CASE("store contract: stores may be made, used and destroyed on different threads") {
  // cds_map attaches threads to libcds on first use and detaches them at exit; a store
  // must survive all of that, including destruction on a thread that never used it.
  FOR_EACH_ENGINE(engine);
  std::unique_ptr<memo::Store> store;
  std::thread([&] { store = make(engine, 8); }).join();
  for (int t = 0; t < 4; ++t) {
    std::thread([&, t] {
      RemovedList removed;
      for (std::uint64_t i = 0; i < 20; ++i) {
        const std::uint64_t n = static_cast<std::uint64_t>(t) * 100 + i;
        store->insert(test_key(n), make_entry(test_key(n), n + 1), t0, removed);
      }
    }).join();
  }
  CHECK(store->size() == 8);
  std::thread([&] { store.reset(); }).join();
  CHECK(store == nullptr);
}

TEST_CASE("store contract: stores held in statics are destroyed safely at exit") {
  // Destroyed after main's thread_local destructors ran (cds_map has detached main
  // from libcds by then and must attach again just for the destructor). A failure
  // shows as a crash or sanitizer report at exit of this test's process.
  FOR_EACH_ENGINE(engine);
  static std::vector<std::unique_ptr<memo::Store>> kept_until_exit;
  kept_until_exit.push_back(make(engine, 4));
  memo::Store& store = *kept_until_exit.back();
  RemovedList removed;
  for (std::uint64_t i = 0; i < 6; ++i) store.insert(test_key(i), make_entry(test_key(i), i + 1), t0, removed);
  std::thread([&] {
    RemovedList mine;
    store.insert(test_key(99), make_entry(test_key(99), 99), t0, mine);
  }).join();
  CHECK(store.size() > 0);
  CHECK(store.size() <= 4);
}

TEST_CASE("store contract: a bounded store holds max_entries distinct entries before it evicts") {
  // The guide: "When a new entry is added to a full cache, the oldest cached entry will
  // be removed" -- so nothing goes before the cache is full. Default configuration
  // (shards = 0), as a cache makes its stores.
  FOR_EACH_ENGINE(engine);
  const std::size_t max_entries = GENERATE(1, 2, 7, 64, 1000);
  CAPTURE(max_entries);
  auto store = make(engine, max_entries);
  RemovedList removed;
  for (std::uint64_t i = 0; i < max_entries; ++i) {
    store->insert(test_key(i), make_entry(test_key(i), i + 1), t0, removed);
  }
  CHECK(removed.empty());
  CHECK(store->size() == max_entries);
  std::size_t found = 0;
  for (std::uint64_t i = 0; i < max_entries; ++i) {
    found += id_of(store->find(test_key(i), t0, removed)) == i + 1;
  }
  CHECK(found == max_entries);
  // One more distinct key: now the cache is full, and exactly one entry goes.
  const std::uint64_t extra = max_entries;
  auto newest = make_entry(test_key(extra), extra + 1);
  CHECK(same_entry(store->insert(test_key(extra), newest, t0, removed), newest));
  if (!is_remote(engine)) {  // remote engines report no removals
    CHECK(removed.size() == 1);
    CHECK(count_cause(removed, RemovalCause::evicted) == removed.size());
  }
  CHECK(store->size() == max_entries);
  CHECK(same_entry(store->find(test_key(extra), t0, removed), newest));
}

namespace {

// Resident memory of this process, from /proc/self/statm (Linux).
std::size_t resident_bytes() {
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  REQUIRE(statm != nullptr);
  unsigned long long total_pages = 0;
  unsigned long long resident_pages = 0;
  const int read = std::fscanf(statm, "%llu %llu", &total_pages, &resident_pages);
  std::fclose(statm);
  REQUIRE(read == 2);
  return static_cast<std::size_t>(resident_pages) * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

TEST_CASE("store contract: a store's memory grows with its entries, not with max_entries") {
  // A session-scoped cache makes one store per session: stores with a large bound that
  // hold a few entries each must cost about what they hold.
  FOR_EACH_ENGINE(engine);
  constexpr std::size_t kStores = 64;
  constexpr std::size_t kHugeBound = std::size_t{1} << 30;
  const std::size_t before = resident_bytes();
  std::vector<std::unique_ptr<memo::Store>> stores;
  RemovedList removed;
  for (std::size_t s = 0; s < kStores; ++s) {
    stores.push_back(make(engine, kHugeBound));
    for (std::uint64_t i = 0; i < 4; ++i) {
      const std::uint64_t n = s * 100 + i;
      stores.back()->insert(test_key(n), make_entry(test_key(n), n + 1), t0, removed);
    }
  }
  const std::size_t grown = resident_bytes() - std::min(before, resident_bytes());
  CAPTURE(grown);
  // Even one byte per 4096 possible entries would be 256 KiB per store.
  CHECK(grown / kStores < 256 * 1024);
  std::size_t held = 0;
  for (const auto& store : stores) held += store->size();
  CHECK(held == 4 * kStores);
  CHECK(removed.empty());

  // A bound of two billion is just a bound.
  auto big = make(engine, 2'000'000'000);
  for (std::uint64_t i = 0; i < 3; ++i) big->insert(test_key(i), make_entry(test_key(i), i + 1), t0, removed);
  CHECK(big->size() == 3);
  for (std::uint64_t i = 0; i < 3; ++i) CHECK(id_of(big->find(test_key(i), t0, removed)) == i + 1);
  CHECK(removed.empty());
}

TEST_CASE("store contract: a bound a store cannot keep is refused with std::length_error") {
  // Never a bare std::bad_alloc: either the store works with the bound or it says why not.
  FOR_EACH_ENGINE(engine);
  const std::size_t max_entries = GENERATE(std::size_t{1} << 40, SIZE_MAX);
  CAPTURE(max_entries);
  try {
    auto store = make(engine, max_entries);
    RemovedList removed;
    auto e = make_entry(test_key(1), 1);
    CHECK(same_entry(store->insert(test_key(1), e, t0, removed), e));
    CHECK(same_entry(store->find(test_key(1), t0, removed), e));
  } catch (const std::length_error& refused) {
    CHECK_THAT(refused.what(), Catch::Contains("max_entries"));
  }
}

TEST_CASE("store contract: entries are dead when the store's destructor returns, "
          "even those removed by threads still running") {
  // cds_map frees an unlinked node only at a hazard-pointer scan of the buffer of the
  // thread that unlinked it; a thread that removed entries and then idles (a pool
  // worker, a session thread) must not keep them alive past their store.
  FOR_EACH_ENGINE(engine);
  SKIP_REMOTE(engine, "it never holds the entry objects (only their bytes, on the server), and "
                      "reports no removals");
  const std::size_t max_entries = GENERATE(0, 16);
  CAPTURE(max_entries);
  ReleaseAudit audit;
  auto store = make(engine, max_entries);
  std::latch removed_all(1);
  std::latch store_gone(1);
  bool removed_some = false;  // Catch2 assertions are for the main thread only
  std::thread remover([&] {
    {
      RemovedList removed;
      for (std::uint64_t i = 0; i < 200; ++i) {
        const Key key = test_key(i % 40);
        store->insert(key, make_entry(key, i + 1, memo::Entry::never, &audit), t0, removed);
        if (i % 3 == 0) store->erase(test_key((i + 7) % 40), nullptr, RemovalCause::erased, removed);
        if (i % 50 == 49) store->clear(removed);
      }
      // Entries with a deadline, found expired by this thread.
      for (std::uint64_t i = 100; i < 110; ++i) {
        store->insert(test_key(i), make_entry(test_key(i), i, t0 + std::chrono::seconds(1), &audit),
                      t0, removed);
        store->find(test_key(i), t0 + std::chrono::seconds(2), removed);
      }
      removed_some = !removed.empty();
    }  // the thread's references are gone; the store's may wait in its retired buffer
    removed_all.count_down();
    store_gone.wait();
    // Work on another store after the first one is gone: the scans this triggers free
    // the first store's retired nodes (a use-after-free here shows under ASan).
    auto other = make(engine, max_entries);
    RemovedList removed;
    for (std::uint64_t i = 0; i < 20000; ++i) {
      other->insert(test_key(i % 64), make_entry(test_key(i % 64), i + 1), t0, removed);
      other->erase(test_key((i + 5) % 64), nullptr, RemovalCause::erased, removed);
      removed.clear();
    }
  });
  removed_all.wait();
  CHECK(audit.made.load() > 0);
  store.reset();
  // The remover is alive and attached; nothing it holds may keep an entry alive.
  CHECK(audit.died.load() == audit.made.load());
  store_gone.count_down();
  remover.join();
  CHECK(removed_some);
}
