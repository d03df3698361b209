// What flat_table's header promises beyond the shared Store contract: visit() pins an
// entry without a reference count and may call the store again, removed entries are
// freed promptly once no reader holds them, the all-zero key is an ordinary key, growth
// and migration keep every entry, and CLOCK keeps at least what exact LRU keeps.
// Concurrent growth under readers is in tests/stress/flat_table_stress_test.cpp.
#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "memo/store.h"
#include "memo/stores/flat_table.h"
#include "support/hit_ratio.h"
#include "stores/flat_table_reclaim.h"  // the library's internals: the announcement modes
#include "support/store_testing.h"

using memo::Clock;
using memo::EntryPtr;
using memo::Key;
using memo::RemovalCause;
using memo::RemovedList;
using memo::StoreConfig;
using namespace memo_test;

namespace {

const Clock::time_point t0 = Clock::now();

std::unique_ptr<memo::Store> flat(std::size_t max_entries = 0) {
  return memo::make_flat_table_store(StoreConfig{max_entries, 0});
}

// An entry whose size (Entry::bytes()) can be chosen.
struct SizedEntry final : memo::Entry {
  SizedEntry(std::size_t bytes, std::uint64_t serial) : Entry(Entry::never, bytes), id(serial) {}
  const std::uint64_t id;
};

// Enough removals in `store` to make any pending reclaim run, on keys far from the
// test's own.
void churn(memo::Store& store, std::size_t removals) {
  RemovedList removed;
  for (std::uint64_t i = 0; i < removals; ++i) {
    const Key key = test_key(1'000'000 + i % 64);
    store.insert(key, make_entry(key, i + 1), t0, removed);
    store.erase(key, nullptr, RemovalCause::erased, removed);
    removed.clear();
  }
}

// Inserts a fresh entry for `key`: the store holds the only reference; the watch tells
// when it is gone.
std::weak_ptr<const memo::Entry> insert_watched(memo::Store& store, const Key& key, std::uint64_t id) {
  RemovedList removed;
  auto entry = make_entry(key, id);
  store.insert(key, entry, t0, removed);
  return entry;
}

}  // namespace

TEST_CASE("flat_table: visit pins the entry for its function, which gets the store's own") {
  auto store = flat();
  RemovedList removed;
  const std::weak_ptr<const memo::Entry> watch = insert_watched(*store, test_key(1), 1);
  long count_inside = 0;
  bool alive_after_removal = false;
  const bool hit = store->visit(test_key(1), t0, removed, [&](const EntryPtr& entry) {
    // No reference was taken for the call: the store's is the only one.
    count_inside = entry.use_count();
    // Remove it while the function runs: reported at once, kept alive for the call.
    RemovedList inner;
    REQUIRE(store->erase(test_key(1), entry.get(), RemovalCause::erased, inner));
    REQUIRE(inner.size() == 1);
    inner.clear();
    churn(*store, 10'000);
    alive_after_removal = !watch.expired() && id_of(entry) == 1;
  });
  CHECK(hit);
  CHECK(count_inside == 1);
  CHECK(alive_after_removal);
  // The pin is gone with the call: the next reclaim frees the entry.
  store->clear(removed);
  CHECK(watch.expired());
}

TEST_CASE("flat_table: a copy made inside visit keeps the entry after it is removed") {
  auto store = flat();
  RemovedList removed;
  store->insert(test_key(2), make_entry(test_key(2), 2), t0, removed);
  EntryPtr kept;
  REQUIRE(store->visit(test_key(2), t0, removed, [&](const EntryPtr& entry) { kept = entry; }));
  REQUIRE(store->erase(test_key(2), nullptr, RemovalCause::erased, removed));
  removed.clear();
  store->clear(removed);
  churn(*store, 10'000);
  CHECK(kept.use_count() == 1);
  CHECK(id_of(kept) == 2);
}

TEST_CASE("flat_table: visit's function may call the store again, nested deeper than its hazards") {
  auto store = flat(64);
  RemovedList removed;
  constexpr std::uint64_t kDepth = 12;  // more than the five hazard slots per thread
  for (std::uint64_t i = 0; i < kDepth; ++i) store->insert(test_key(i), make_entry(test_key(i), i + 1), t0, removed);
  std::vector<std::uint64_t> seen;
  std::function<void(std::uint64_t)> dive = [&](std::uint64_t depth) {
    if (depth == kDepth) return;
    const bool hit = store->visit(test_key(depth), t0, removed, [&](const EntryPtr& entry) {
      seen.push_back(id_of(entry));
      // Writes from inside a visit: a new key, and the removal of one already visited.
      RemovedList inner;
      store->insert(test_key(100 + depth), make_entry(test_key(100 + depth), 100 + depth), t0, inner);
      if (depth > 0) store->erase(test_key(depth - 1), nullptr, RemovalCause::erased, inner);
      dive(depth + 1);
      // Still the entry of this key, whatever happened below.
      seen.push_back(id_of(entry));
    });
    REQUIRE(hit);
  };
  dive(0);
  std::vector<std::uint64_t> expected;
  for (std::uint64_t i = 0; i < kDepth; ++i) expected.push_back(i + 1);
  for (std::uint64_t i = kDepth; i-- > 0;) expected.push_back(i + 1);
  CHECK(seen == expected);
  CHECK(store->size() == 2 * kDepth - (kDepth - 1));
}

TEST_CASE("flat_table: a removed entry of 1 MiB or more is freed before the removal returns") {
  auto store = flat(1);
  RemovedList removed;
  std::weak_ptr<const memo::Entry> watch;
  {
    auto big = std::make_shared<const SizedEntry>(std::size_t{1} << 20, 7);
    watch = big;
    store->insert(test_key(7), big, t0, removed);
  }
  SECTION("erased") {
    REQUIRE(store->erase(test_key(7), nullptr, RemovalCause::erased, removed));
  }
  SECTION("evicted") {
    store->insert(test_key(8), make_entry(test_key(8), 8), t0, removed);
    REQUIRE(removed.size() == 1);
    REQUIRE(removed[0].key == test_key(7));
  }
  removed.clear();  // the report's reference: now only the store's could keep it alive
  CHECK(watch.expired());
}

TEST_CASE("flat_table: with no other thread inside a flat_table, a removed entry goes with its report") {
  // ctest runs each test case in a process of its own: this thread is the only one.
  auto store = flat();
  RemovedList removed;
  const std::weak_ptr<const memo::Entry> watch = insert_watched(*store, test_key(4), 4);
  REQUIRE(store->erase(test_key(4), nullptr, RemovalCause::erased, removed));
  REQUIRE(removed.size() == 1);
  CHECK(removed[0].entry.use_count() == 1);  // the report holds the store's own reference
  removed.clear();
  CHECK(watch.expired());
}

TEST_CASE("flat_table: small removed entries wait only for a bounded number of removals") {
  auto store = flat();
  RemovedList removed;
  const std::weak_ptr<const memo::Entry> watch = insert_watched(*store, test_key(3), 3);
  REQUIRE(store->erase(test_key(3), nullptr, RemovalCause::erased, removed));
  removed.clear();
  // max(32, 2 x threads that ever used a flat_table) removals at most; a test process
  // has started far fewer than 5000 threads.
  churn(*store, 10'000);
  CHECK(watch.expired());
}

TEST_CASE("flat_table: with other threads about, removed entries are freed one per later "
          "removal, not in batches") {
  // A batch of frees fills the allocator's per-thread cache and spills to its shared
  // bins; one free per removal keeps each allocation's chunk the one just freed.
  struct Counted final : memo::Entry {
    explicit Counted(std::atomic<std::size_t>& died) : Entry(Entry::never, 8), died_(died) {}
    ~Counted() override { died_.fetch_add(1, std::memory_order_relaxed); }
    std::atomic<std::size_t>& died_;
  };
  std::atomic<std::size_t> died{0};
  std::size_t made = 0;
  {
    auto store = flat();
    // Another thread holds a flat_table thread record, so removals go through the limbo.
    std::promise<void> parked, release;
    std::thread other([&] {
      RemovedList mine;
      store->find(test_key(1), t0, mine);
      parked.set_value();
      release.get_future().wait();
    });
    parked.get_future().wait();
    RemovedList removed;
    std::size_t most_freed_by_one = 0;
    constexpr std::size_t kReplaces = 5000;
    for (std::size_t i = 0; i < kReplaces; ++i) {
      const Key key = test_key(i % 16);
      const std::size_t before = died.load();
      store->replace(key, std::make_shared<const Counted>(died), t0, removed);
      ++made;
      removed.clear();  // the report's reference: the limbo's is the last one
      if (i >= kReplaces / 2) most_freed_by_one = std::max(most_freed_by_one, died.load() - before);
    }
    INFO("freed " << died.load() << " of " << made << " while replacing");
    CHECK(died.load() + 4096 >= made);  // freed as it goes, not only at the end
    CHECK(most_freed_by_one <= 2);
    release.set_value();
    other.join();
  }
  CHECK(died.load() == made);  // the destructor frees the rest
}

TEST_CASE("store contract extras: the all-zero key is an ordinary key") {
  // flat_table keeps it beside its table (all zeroes marks an unclaimed slot); every
  // engine must treat it like any other key.
  for (const auto& engine : memo::store_engines()) {
    if (engine.remote) continue;
    CAPTURE(engine.name);
    auto store = memo::make_store(std::string(engine.name), StoreConfig{2, 1});
    RemovedList removed;
    const Key zero{};
    auto a = make_entry(zero, 1);
    CHECK(store->insert(zero, a, t0, removed) == a);
    CHECK(store->insert(zero, make_entry(zero, 2), t0, removed) == a);
    CHECK(store->find(zero, t0, removed) == a);
    std::uint64_t visited = 0;
    CHECK(store->visit(zero, t0, removed, [&](const EntryPtr& e) { visited = id_of(e); }));
    CHECK(visited == 1);
    CHECK(store->erase(zero, a.get(), RemovalCause::erased, removed));
    CHECK(store->find(zero, t0, removed) == nullptr);
    // Evictable like any entry: fill the store past its bound.
    store->insert(zero, make_entry(zero, 3), t0, removed);
    for (std::uint64_t i = 1; i <= 4; ++i) store->insert(test_key(i), make_entry(test_key(i), 10 + i), t0, removed);
    CHECK(store->size() == 2);
    std::size_t zero_reported = 0;
    for (const auto& r : removed) zero_reported += r.key == zero;
    CHECK(zero_reported == 2);  // the erase, then the eviction
    CHECK(tally_reports(removed) == 0);
  }
}

TEST_CASE("flat_table: growth and migrations keep every entry and every report exact") {
  // Unbounded: many doublings. Bounded with churn over many keys: the table fills with
  // the keys of evicted entries and is rebuilt again and again at its full size.
  const std::size_t max_entries = GENERATE(0, 100);
  CAPTURE(max_entries);
  auto store = flat(max_entries);
  RemovedList removed;
  constexpr std::uint64_t kKeys = 50'000;
  std::vector<std::shared_ptr<const TestEntry>> entries;
  for (std::uint64_t i = 0; i < kKeys; ++i) {
    entries.push_back(make_entry(test_key(i), i + 1));
    CHECK(store->insert(test_key(i), entries.back(), t0, removed) == entries.back());
    if (max_entries != 0) CHECK(store->size() <= max_entries);
  }
  CHECK(tally_reports(removed) == 0);
  const std::size_t held = max_entries == 0 ? kKeys : max_entries;
  CHECK(store->size() == held);
  CHECK(removed.size() == kKeys - held);
  removed.clear();
  std::size_t found = 0;
  for (std::uint64_t i = 0; i < kKeys; ++i) {
    if (const EntryPtr e = store->find(test_key(i), t0, removed)) found += e == entries[i];
  }
  CHECK(found == held);
  store->clear(removed);
  CHECK(removed.size() == held);
  CHECK(tally_reports(removed) == 0);
}

TEST_CASE("flat_table: its CLOCK keeps at least what exact LRU keeps on the Zipf trace") {
  const auto trace = zipf_trace();
  const auto keys = trace_keys();
  const StoreConfig bounded{kWorkload.capacity, 0};
  const double lru = store_hit_ratio("mutex_map", bounded, trace, keys);
  const double clock = store_hit_ratio("flat_table", bounded, trace, keys);
  CAPTURE(lru, clock);
  CHECK(clock >= lru);
}

TEST_CASE("flat_table: a thread that announced lightly and then only waits does not keep its workers on membarrier") {
  // A main thread fills a store alone (light announcements: plain stores, paid for by a
  // membarrier in every reclaim), then waits while workers use it. It never runs another
  // operation to switch itself, and the workers' reclaims used to run membarrier for it
  // for as long as it lived, while they announced the heavy way too.
  using memo::flat_table_detail::g_domain;
  using memo::flat_table_detail::g_membarrier_ready;
  auto store = flat();
  RemovedList removed;
  store->insert(test_key(1), make_entry(test_key(1), 1), t0, removed);
  if (!g_membarrier_ready.load()) {
    WARN("SKIPPED: light announcements are off here (ThreadSanitizer, or no membarrier)");
    return;
  }
  REQUIRE(g_domain.records_in_use.load() == 1);
  REQUIRE(g_domain.light_records.load() == 1);
  std::size_t light_after_work = 1;
  std::thread worker([&] {
    RemovedList mine;
    for (std::uint64_t i = 0; i < 20000; ++i) {
      store->replace(test_key(i % 64), make_entry(test_key(i % 64), i + 2), t0, mine);
      mine.clear();
    }
    light_after_work = g_domain.light_records.load();
  });
  worker.join();
  CHECK(light_after_work == 0);
  // The waiting thread's next operation still works, in whichever mode it picks.
  CHECK(store->find(test_key(1), t0, removed) != nullptr);
}
