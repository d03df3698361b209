// Store::visit under many threads (16 and 64: more than cores, on purpose) over a key
// space wide enough to make flat_table grow and rebuild its table again and again, for
// every in-process engine (the others run visit's default, find()). Checked:
//   - a visit sees only the entry of its key, which stays intact for the whole call even
//     when the function itself removes it or writes other keys;
//   - every entry is reported exactly once if it went in, never if not, and is dead
//     once the store is gone; size() stays within max_entries and is exact at rest.
// And flat_table alone: readers never miss an entry while writers make the table grow.
// Each case runs 0.25 s by default; MEMO_STRESS_SECONDS=<s> runs each for that long:
//   build/<dir>/tests/memo_stress "visit stress*" -s
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

std::vector<std::string> in_process_engines() {
  std::vector<std::string> names;
  for (const auto& engine : memo::store_engines()) {
    if (!engine.remote) names.emplace_back(engine.name);
  }
  return names;
}

constexpr std::uint64_t kKeys = 20'000;

struct Tally {
  std::atomic<std::size_t> ops{0};
  std::atomic<std::size_t> visits{0};
  std::atomic<std::size_t> hits{0};
  std::atomic<std::size_t> went_in{0};
  std::atomic<std::size_t> reported{0};
  std::atomic<std::size_t> bad_reports{0};
  std::atomic<std::size_t> wrong_key{0};
  std::atomic<std::size_t> changed_during_call{0};
  std::atomic<std::size_t> over_bound{0};
};

void worker(memo::Store& store, std::size_t max_entries, std::uint64_t seed,
            Clock::time_point deadline, ReleaseAudit& audit, Tally& tally) {
  SplitMix64 rng(seed);
  RemovedList removed;
  std::size_t ops = 0;
  std::uint64_t serial = 0;
  auto flush = [&] {
    if (removed.empty()) return;
    tally.bad_reports.fetch_add(tally_reports(removed), std::memory_order_relaxed);
    tally.reported.fetch_add(removed.size(), std::memory_order_relaxed);
    removed.clear();
  };
  auto insert = [&](std::uint64_t k, RemovedList& into) {
    const Key key = test_key(k);
    const auto now = Clock::now();
    const auto expires = rng.next_below(8) == 0 ? now + std::chrono::microseconds(rng.next_below(100))
                                                : memo::Entry::never;
    auto entry = make_entry(key, ++serial, expires, &audit);
    // One in four overwrites (replace always goes in); the rest insert if absent.
    const bool overwrite = rng.next_below(4) == 0;
    if (overwrite) entry->went_in.store(true);  // before any thread can report it
    const EntryPtr stored = overwrite ? (store.replace(key, entry, now, into), entry)
                                      : store.insert(key, entry, now, into);
    if (stored == entry) {
      entry->went_in.store(true);
      tally.went_in.fetch_add(1, std::memory_order_relaxed);
    }
    if (!(as_test(*stored).key == key)) tally.wrong_key.fetch_add(1, std::memory_order_relaxed);
    if (max_entries != 0 && store.size() > max_entries) {
      tally.over_bound.fetch_add(1, std::memory_order_relaxed);
    }
  };
  for (;; ++ops) {
    if (ops % 64 == 0 && Clock::now() >= deadline) break;
    // Half the operations on a small hot set, so that threads meet on the same keys.
    const std::uint64_t k = rng.next_below(2) ? rng.next_below(64) : rng.next_below(kKeys);
    const Key key = test_key(k);
    const std::uint64_t dice = rng.next_below(1000);
    if (dice < 300) {
      insert(k, removed);
    } else if (dice < 700) {
      tally.visits.fetch_add(1, std::memory_order_relaxed);
      const bool hit = store.visit(key, Clock::now(), removed, [&](const EntryPtr& entry) {
        const TestEntry& seen = as_test(*entry);
        if (!(seen.key == key)) tally.wrong_key.fetch_add(1, std::memory_order_relaxed);
        const std::uint64_t id = seen.id;
        // Now and then the function writes: removes its own entry, or adds another key.
        RemovedList inner;
        const std::uint64_t action = rng.next_below(16);
        if (action == 0) store.erase(key, entry.get(), RemovalCause::erased, inner);
        if (action == 1) insert(rng.next_below(kKeys), inner);
        if (action == 2) {
          store.visit(test_key(rng.next_below(64)), Clock::now(), inner, [&](const EntryPtr&) {});
        }
        if (seen.id != id || !(seen.key == key)) {
          tally.changed_during_call.fetch_add(1, std::memory_order_relaxed);
        }
        for (auto& r : inner) removed.push_back(std::move(r));
      });
      if (hit) tally.hits.fetch_add(1, std::memory_order_relaxed);
    } else if (dice < 850) {
      store.erase(key, nullptr, RemovalCause::erased, removed);
    } else if (dice < 999) {
      const EntryPtr found = store.find(key, Clock::now(), removed);
      if (found && !(as_test(*found).key == key)) tally.wrong_key.fetch_add(1, std::memory_order_relaxed);
      if (found) store.erase(key, found.get(), RemovalCause::erased, removed);
    } else if (rng.next_below(16) == 0) {
      store.clear(removed);
    }
    flush();
  }
  tally.ops.fetch_add(ops, std::memory_order_relaxed);
}

}  // namespace

TEST_CASE("visit stress: pinned entries, exactly-once reports and growth under many threads") {
  const std::string engine = GENERATE(from_range(in_process_engines()));
  const int threads = GENERATE(16, 64);
  const std::size_t max_entries = GENERATE(0, 48);
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
      pool.emplace_back(worker, std::ref(*store), max_entries, 1234 + static_cast<std::uint64_t>(t),
                        deadline, std::ref(audit), std::ref(tally));
    }
    for (auto& thread : pool) thread.join();
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();

    CHECK(store->size() == tally.went_in.load() - tally.reported.load());
    if (max_entries != 0) CHECK(store->size() <= max_entries);
    RemovedList final_clear;
    store->clear(final_clear);
    tally.bad_reports.fetch_add(tally_reports(final_clear));
    tally.reported.fetch_add(final_clear.size());
    CHECK(store->size() == 0);
    CHECK(tally.went_in.load() == tally.reported.load());
  }
  std::printf("visit stress %-11s threads %2d max_entries %2zu: %9zu ops in %.2f s, %zu visits "
              "(%zu hits), %zu went in\n",
              engine.c_str(), threads, max_entries, tally.ops.load(), elapsed, tally.visits.load(),
              tally.hits.load(), tally.went_in.load());
  CHECK(tally.visits.load() > 0);
  CHECK(tally.hits.load() > 0);
  CHECK(tally.bad_reports.load() == 0);
  CHECK(tally.wrong_key.load() == 0);
  CHECK(tally.changed_during_call.load() == 0);
  CHECK(tally.over_bound.load() == 0);
  CHECK(audit.died.load() == audit.made.load());
  CHECK(audit.died_unbalanced.load() == 0);
}

// A thread alone in the process announces its lookups lightly (flat_table_reclaim.h);
// as soon as a second thread holds a record, threads announce heavily and reclaims stop
// running membarrier -- each thread switching itself at its next operation, so for a
// while both kinds are in flight. Phases alternate between the test's thread alone and
// the test's thread with a crowd that comes and goes, on one store that lives across
// them; a reclaim that missed a light announcement would free an entry still being read.
TEST_CASE("flat_table stress: threads that come and go switch announcement modes safely") {
  const int crowd = GENERATE(1, 7);
  CAPTURE(crowd);
  ReleaseAudit audit;
  Tally tally;
  int phases = 0;
  {
    auto store = memo::make_store("flat_table", memo::StoreConfig{});
    const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(seconds_per_run()));
    const auto phase = std::chrono::milliseconds(5);
    for (std::uint64_t seed = 1; Clock::now() < end; seed += 100, phases += 2) {
      worker(*store, 0, seed, Clock::now() + phase, audit, tally);  // alone: light
      const auto deadline = Clock::now() + phase;
      std::vector<std::thread> pool;
      for (int t = 1; t <= crowd; ++t) {
        pool.emplace_back(worker, std::ref(*store), 0, seed + static_cast<std::uint64_t>(t), deadline,
                          std::ref(audit), std::ref(tally));
      }
      worker(*store, 0, seed + 99, deadline, audit, tally);  // switches to heavy meanwhile
      for (auto& thread : pool) thread.join();
    }
    CHECK(store->size() == tally.went_in.load() - tally.reported.load());
    RemovedList final_clear;
    store->clear(final_clear);
    tally.bad_reports.fetch_add(tally_reports(final_clear));
    tally.reported.fetch_add(final_clear.size());
    CHECK(tally.went_in.load() == tally.reported.load());
  }
  std::printf("flat_table mode switches: crowd %d, %d phases, %zu ops, %zu visits (%zu hits)\n", crowd,
              phases, tally.ops.load(), tally.visits.load(), tally.hits.load());
  CHECK(phases >= 2);
  CHECK(tally.hits.load() > 0);
  CHECK(tally.bad_reports.load() == 0);
  CHECK(tally.wrong_key.load() == 0);
  CHECK(tally.changed_during_call.load() == 0);
  CHECK(audit.died.load() == audit.made.load());
  CHECK(audit.died_unbalanced.load() == 0);
}

TEST_CASE("flat_table stress: readers never miss an entry while writers grow the table") {
  const int readers = GENERATE(2, 16);
  CAPTURE(readers);
  auto store = memo::make_store("flat_table", memo::StoreConfig{});
  const auto now = Clock::now();
  const auto deadline = now + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(seconds_per_run()));
  constexpr std::uint64_t kMaxKeys = 400'000;
  // Keys below `published` are in the store for good (nothing removes them).
  std::atomic<std::uint64_t> published{0};
  std::atomic<bool> writing{true};
  std::atomic<std::size_t> misses{0};
  std::atomic<std::size_t> wrong{0};
  std::atomic<std::size_t> reads{0};
  std::thread writer([&] {
    RemovedList removed;
    for (std::uint64_t i = 0; i < kMaxKeys && (i % 1024 != 0 || Clock::now() < deadline); ++i) {
      store->insert(test_key(i), make_entry(test_key(i), i + 1), now, removed);
      published.store(i + 1, std::memory_order_release);
    }
    writing.store(false);
  });
  std::vector<std::thread> pool;
  for (int r = 0; r < readers; ++r) {
    pool.emplace_back([&, r] {
      SplitMix64 rng(99 + static_cast<std::uint64_t>(r));
      RemovedList removed;
      std::size_t done = 0;
      while (writing.load(std::memory_order_relaxed)) {
        const std::uint64_t limit = published.load(std::memory_order_acquire);
        if (limit == 0) continue;
        const std::uint64_t k = rng.next_below(limit);
        std::uint64_t id = 0;
        if (!store->visit(test_key(k), now, removed, [&](const EntryPtr& e) { id = id_of(e); })) {
          misses.fetch_add(1);
        } else if (id != k + 1) {
          wrong.fetch_add(1);
        }
        ++done;
      }
      reads.fetch_add(done);
    });
  }
  writer.join();
  for (auto& thread : pool) thread.join();
  std::printf("flat_table growth: %llu keys inserted, %zu reads by %d readers\n",
              static_cast<unsigned long long>(published.load()), reads.load(), readers);
  CHECK(published.load() > 1000);
  CHECK(reads.load() > 0);
  CHECK(misses.load() == 0);
  CHECK(wrong.load() == 0);
  CHECK(store->size() == published.load());
}
