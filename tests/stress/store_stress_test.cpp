// Many threads (16 and 64: more than cores, on purpose) hammer every engine over a
// small key range with inserts, finds, erases (plain and expected), clears, real-time
// expiry and, when bounded, evictions. Checked afterwards:
//   - inserted - reported removed == size() once quiescent; size() == 0 after clear;
//   - every entry, when it dies, was reported exactly once if it went in, never if not;
//   - every entry made is dead once the store is gone (stores do not leak entries);
//   - a find or insert for key k never returns an entry made for another key, and
//     keys that are never written are never found;
//   - size() <= max_entries after every insert in bounded stores.
// Each (engine, threads, bound) runs 0.25 s by default, counted from the moment every
// worker is running, and each worker does at least kMinOpsPerWorker operations however
// late the scheduler lets it start (a busy machine must not turn the run into 0 ops);
// MEMO_STRESS_SECONDS=<s> runs each for that long instead. Prints ops, duration and
// threads per run:
//   build-stores/tests/memo_stress "store stress*" -s
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <latch>
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

Clock::duration time_per_run() {
  double seconds = 0.25;
  if (const char* env = std::getenv("MEMO_STRESS_SECONDS")) {
    if (std::atof(env) > 0) seconds = std::atof(env);
  }
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

constexpr std::size_t kMinOpsPerWorker = 1024;

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

// Runs for `run_for` after every worker has arrived at `start`, and for at least
// `min_ops` operations.
void worker(memo::Store& store, std::size_t max_entries, std::uint64_t seed, std::latch& start,
            Clock::duration run_for, std::size_t min_ops, ReleaseAudit& audit, Tally& tally) {
  start.arrive_and_wait();
  const Clock::time_point deadline = Clock::now() + run_for;
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
    if (ops >= min_ops && ops % 64 == 0 && Clock::now() >= deadline) break;
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
      // One in four overwrites (replace always goes in); the rest insert if absent.
      const bool overwrite = rng.next_below(4) == 0;
      if (overwrite) entry->went_in.store(true);  // before any thread can report it
      const EntryPtr stored = overwrite ? (store.replace(key, entry, now, removed), entry)
                                        : store.insert(key, entry, now, removed);
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
  // Remote engines (redis) are left out: they report no removals and pay a round trip
  // per operation; tests/redis_*.cpp stress them.
  const std::string engine = GENERATE(from_range(memo_test::in_process_store_names()));
  const int threads = GENERATE(16, 64);
  const std::size_t max_entries = GENERATE(0, 24);
  CAPTURE(engine, threads, max_entries);

  ReleaseAudit audit;
  Tally tally;
  double elapsed = 0;
  {
    auto store = memo::make_store(engine, memo::StoreConfig{max_entries, 0});
    std::latch start_together(threads + 1);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back(worker, std::ref(*store), max_entries, 77 + static_cast<std::uint64_t>(t),
                        std::ref(start_together), time_per_run(), kMinOpsPerWorker,
                        std::ref(audit), std::ref(tally));
    }
    start_together.arrive_and_wait();
    const auto start = Clock::now();
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

TEST_CASE("store stress: every entry is dead when the store's destructor returns") {
  // Many short rounds, each ending in the store's destruction: once after the workers
  // have exited, once while they are still alive (parked). cds_map keeps unlinked nodes
  // in the retired buffer of the thread that unlinked them; an exiting thread leaves
  // behind those another thread still guarded at its last scan, and a live thread keeps
  // them until its next scan. Either way the entries must die with their store.
  // Remote engines (redis) are left out: they report no removals and pay a round trip
  // per operation; tests/redis_*.cpp stress them.
  const std::string engine = GENERATE(from_range(memo_test::in_process_store_names()));
  const bool workers_alive = GENERATE(false, true);
  const std::size_t max_entries = GENERATE(0, 24);
  CAPTURE(engine, workers_alive, max_entries);
  constexpr int kThreads = 8;
  constexpr int kRounds = 10;
  constexpr std::size_t kOpsPerWorker = 512;
  int rounds_with_survivors = 0;
  std::size_t made = 0;
  for (int round = 0; round < kRounds; ++round) {
    ReleaseAudit audit;
    Tally tally;
    auto store = memo::make_store(engine, memo::StoreConfig{max_entries, 0});
    std::latch start_together(kThreads);
    std::latch workers_done(kThreads);
    std::latch release_workers(1);
    std::vector<std::thread> pool;
    for (int t = 0; t < kThreads; ++t) {
      pool.emplace_back([&, t] {
        // A past deadline: exactly the minimum number of operations (rounded up to 64).
        worker(*store, max_entries, 1000 * static_cast<std::uint64_t>(round) + static_cast<std::uint64_t>(t),
               start_together, Clock::duration::zero(), kOpsPerWorker, audit, tally);
        workers_done.count_down();
        if (workers_alive) release_workers.wait();
      });
    }
    workers_done.wait();
    if (!workers_alive) {
      for (auto& thread : pool) thread.join();
    }
    store.reset();
    made += audit.made.load();
    rounds_with_survivors += audit.died.load() != audit.made.load();
    release_workers.count_down();
    for (auto& thread : pool) {
      if (thread.joinable()) thread.join();
    }
  }
  CHECK(made > 0);
  CHECK(rounds_with_survivors == 0);
}
