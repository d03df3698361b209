// Many threads (16 and 64: more than cores, on purpose) hammer every engine over a
// small key range with inserts, finds, erases (plain and expected), clears, real-time
// expiry and, when bounded, evictions. Checked afterwards:
//   - inserted - reported removed == size() once quiescent; size() == 0 after clear;
//   - every entry, when it dies, was reported exactly once if it went in, never if not;
//   - every entry made is dead once the store is gone (stores do not leak entries);
//   - a find or insert for key k never returns an entry made for another key, and
//     keys that are never written are never found;
//   - size() <= max_entries after every insert in bounded stores.
// Each (engine, threads, bound) runs 0.25 s by default; MEMO_STRESS_SECONDS=<s> runs
// each for that long instead. Prints ops, duration and threads per run:
//   build-stores/tests/memo_stress "store stress*" -s
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "memo/store.h"
#include "support/store_testing.h"

using memo::Clock;
using memo::EntryPtr;
using memo::Key;
using memo::RemovalCause;
using memo::RemovedList;
using namespace memo_test;

namespace {

double seconds_per_run() {
  if (const char* env = std::getenv("MEMO_STRESS_SECONDS")) {
    const double seconds = std::atof(env);
    if (seconds > 0) return seconds;
  }
  return 0.25;
}

// Even keys are written, odd keys never are (finds on them must miss).
constexpr std::uint64_t kKeys = 96;

struct Tally {
  std::atomic<std::size_t> ops{0};
  std::atomic<std::size_t> went_in{0};
  std::atomic<std::size_t> reported{0};
  std::atomic<std::size_t> evicted{0};
  std::atomic<std::size_t> expired{0};
  std::atomic<std::size_t> clears{0};
  std::atomic<std::size_t> bad_reports{0};      // twice, or under another key
  std::atomic<std::size_t> wrong_key{0};        // a result made for another key
  std::atomic<std::size_t> never_written{0};    // a result for a key nobody writes
  std::atomic<std::size_t> over_bound{0};

  void add_removed(const RemovedList& removed) {
    bad_reports.fetch_add(tally_reports(removed), std::memory_order_relaxed);
    reported.fetch_add(removed.size(), std::memory_order_relaxed);
    for (const auto& r : removed) {
      if (r.cause == RemovalCause::evicted) evicted.fetch_add(1, std::memory_order_relaxed);
      if (r.cause == RemovalCause::expired) expired.fetch_add(1, std::memory_order_relaxed);
    }
  }
};

void worker(memo::Store& store, std::size_t max_entries, std::uint64_t seed,
            Clock::time_point deadline, ReleaseAudit& audit, Tally& tally) {
  SplitMix64 rng(seed);
  RemovedList removed;
  std::size_t ops = 0;
  std::uint64_t serial = 0;
  auto check_result = [&](const EntryPtr& entry, std::uint64_t k) {
    if (!entry) return;
    if (k % 2 == 1) tally.never_written.fetch_add(1, std::memory_order_relaxed);
    if (!(as_test(*entry).key == test_key(k))) tally.wrong_key.fetch_add(1, std::memory_order_relaxed);
  };
  for (;; ++ops) {
    if (ops % 64 == 0 && Clock::now() >= deadline) break;
    const std::uint64_t k = rng.next_below(kKeys);
    const Key key = test_key(k);
    const auto now = Clock::now();
    const std::uint64_t dice = rng.next_below(1000);
    if (dice < 350 && k % 2 == 0) {
      // A quarter of the entries live only 0-200 microseconds.
      const auto expires = rng.next_below(4) == 0
                               ? now + std::chrono::microseconds(rng.next_below(200))
                               : memo::Entry::never;
      auto entry = make_entry(key, ++serial, expires, &audit);
      const EntryPtr stored = store.insert(key, entry, now, removed);
      if (stored == entry) {
        entry->went_in.store(true);
        tally.went_in.fetch_add(1, std::memory_order_relaxed);
      }
      check_result(stored, k);
      if (max_entries != 0 && store.size() > max_entries) {
        tally.over_bound.fetch_add(1, std::memory_order_relaxed);
      }
    } else if (dice < 750) {
      check_result(store.find(key, now, removed), k);
    } else if (dice < 850) {
      store.erase(key, nullptr, RemovalCause::erased, removed);
    } else if (dice < 999) {
      const EntryPtr found = store.find(key, now, removed);
      check_result(found, k);
      if (found) store.erase(key, found.get(), RemovalCause::erased, removed);
    } else if (rng.next_below(8) == 0) {
      store.clear(removed);
      tally.clears.fetch_add(1, std::memory_order_relaxed);
    }
    if (!removed.empty()) {
      tally.add_removed(removed);
      removed.clear();
    }
  }
  tally.ops.fetch_add(ops, std::memory_order_relaxed);
}

}  // namespace

TEST_CASE("store stress: counts, exactly-once release and key integrity under many threads") {
  const std::string engine = GENERATE(from_range(memo::store_names()));
  const int threads = GENERATE(16, 64);
  const std::size_t max_entries = GENERATE(0, 24);
  CAPTURE(engine, threads, max_entries);

  ReleaseAudit audit;
  Tally tally;
  double elapsed = 0;
  {
    auto store = memo::make_store(engine, memo::StoreConfig{max_entries, 0});
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(seconds_per_run()));
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back(worker, std::ref(*store), max_entries, 77 + static_cast<std::uint64_t>(t),
                        deadline, std::ref(audit), std::ref(tally));
    }
    for (auto& thread : pool) thread.join();
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();

    // Quiescent now: the count is exact.
    CHECK(store->size() == tally.went_in.load() - tally.reported.load());
    if (max_entries != 0) CHECK(store->size() <= max_entries);
    RemovedList final_clear;
    store->clear(final_clear);
    tally.add_removed(final_clear);
    CHECK(store->size() == 0);
    CHECK(tally.went_in.load() == tally.reported.load());
  }
  std::printf("stress %-11s threads %2d max_entries %2zu: %9zu ops in %.2f s (%.2f Mops/s); "
              "%zu went in, %zu evicted, %zu expired, %zu clears\n",
              engine.c_str(), threads, max_entries, tally.ops.load(), elapsed,
              static_cast<double>(tally.ops.load()) / elapsed / 1e6, tally.went_in.load(),
              tally.evicted.load(), tally.expired.load(), tally.clears.load());

  CHECK(tally.ops.load() > 0);
  CHECK(tally.bad_reports.load() == 0);
  CHECK(tally.wrong_key.load() == 0);
  CHECK(tally.never_written.load() == 0);
  CHECK(tally.over_bound.load() == 0);
  // The store is gone: every entry made must be dead, each released as often as it went in.
  CHECK(audit.died.load() == audit.made.load());
  CHECK(audit.died_unbalanced.load() == 0);
  if (max_entries != 0) CHECK(tally.evicted.load() > 0);
  CHECK(tally.expired.load() > 0);
}
