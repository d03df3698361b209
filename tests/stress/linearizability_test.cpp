// Records thousands of short concurrent histories per engine and checks each with the
// Wing-Gong checker in tests/support/linearizability.h. Zero violations is the bar.
//
// A run: 4 threads x 8 operations on 1-3 keys of a fresh unbounded store (eviction
// would make the model nondeterministic; clear is not atomic and is left out), started
// together (a barrier, then a short spin until all have arrived) with random pauses
// between operations. Each operation is stamped from one global atomic counter before
// it is invoked and after it responds. The test prints how many operations actually
// overlapped another thread's operation on the same key: on a loaded 2-core machine
// that is a small fraction, so the run count adapts (see Budget).
//
// The checker must be able to fail: a planted broken engine whose insert is a
// check-then-act with a sleep in the window must produce violations.
#include <atomic>
#include <barrier>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "memo/store.h"
#include "support/linearizability.h"
#include "support/sanitizers.h"
#include "support/store_testing.h"

using memo::Clock;
using memo::EntryPtr;
using memo::Key;
using memo::RemovalCause;
using memo::RemovedList;
using namespace memo_test;
namespace lin = memo_test::lin;

namespace {

constexpr int kThreads = 4;
constexpr int kOpsPerThread = 8;

// How many histories to record. Concurrency needs two of our threads on the cores at
// once, which a loaded machine grants rarely, so the loop runs at least min_runs and
// then goes on until target_overlapping operations overlapped another thread's
// operation on their key, or the time cap is reached.
struct Budget {
  int min_runs;
  std::size_t target_overlapping;
  double max_seconds;
};

Budget engine_budget() {
  Budget budget = kUnderThreadSanitizer ? Budget{1000, 300, 10.0} : Budget{5000, 3000, 5.0};
  if (const char* env = std::getenv("MEMO_STRESS_SECONDS")) {
    const double seconds = std::atof(env);
    if (seconds > 1) {
      budget.min_runs = static_cast<int>(budget.min_runs * seconds);
      budget.target_overlapping = static_cast<std::size_t>(budget.target_overlapping * seconds);
      budget.max_seconds *= seconds;
    }
  }
  return budget;
}

// Planted bug: insert checks for a live entry, lets go of the lock, sleeps, then
// writes unconditionally. Two overlapping inserts can both "win".
class RacyInsertStore final : public memo::Store {
 public:
  EntryPtr find(const Key& key, Clock::time_point, RemovedList&) override {
    std::lock_guard lock(mu_);
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : it->second;
  }
  EntryPtr insert(const Key& key, EntryPtr entry, Clock::time_point, RemovedList&) override {
    {
      std::lock_guard lock(mu_);
      auto it = map_.find(key);
      if (it != map_.end()) return it->second;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));  // the race window
    std::lock_guard lock(mu_);
    map_[key] = entry;
    return entry;
  }
  bool erase(const Key& key, const memo::Entry* expected, RemovalCause cause,
             RemovedList& removed) override {
    std::lock_guard lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end() || (expected && it->second.get() != expected)) return false;
    removed.push_back({key, it->second, cause});
    map_.erase(it);
    return true;
  }
  void clear(RemovedList&) override {}
  std::size_t size() const override {
    std::lock_guard lock(mu_);
    return map_.size();
  }
  std::string_view name() const override { return "racy_insert"; }

 private:
  mutable std::mutex mu_;
  std::unordered_map<Key, EntryPtr, memo::KeyHash> map_;
};

struct Planned {
  lin::Kind kind;
  int key;
  std::uint64_t arg;
  int pause;  // spins before the op, to vary the interleaving
};

void spin(int iterations) {
  for (int i = 0; i < iterations; ++i) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
  }
}

struct Outcome {
  int runs = 0;
  int violations = 0;
  std::size_t ops = 0;
  // Operations that overlap in time with an operation of another thread on the same
  // key: the ones that exercise concurrency at all.
  std::size_t overlapping = 0;
  std::string first_violation;
};

// Runs `runs` histories against stores from `make`, with one persistent thread team.
Outcome record_and_check(const std::function<std::unique_ptr<memo::Store>()>& make,
                         const Budget& budget, std::uint64_t seed) {
  const auto started = Clock::now();
  auto done = [&](int runs, std::size_t overlapping) {
    if (runs < budget.min_runs) return false;
    return overlapping >= budget.target_overlapping ||
           std::chrono::duration<double>(Clock::now() - started).count() >= budget.max_seconds;
  };
  Outcome outcome;
  std::atomic<std::uint64_t> stamp{0};
  std::unique_ptr<memo::Store> store;
  std::vector<std::vector<Planned>> plans(kThreads);
  std::vector<std::vector<lin::Op>> recorded(kThreads);
  std::vector<EntryPtr> entries;  // by entry id; [0] unused
  std::vector<Key> keys;
  bool stop = false;
  // The barrier wakes threads one by one, tens of microseconds apart: long enough for
  // the first to finish before the last starts. So each thread then spins until all
  // have arrived, and they start within a scheduling quantum of each other.
  std::atomic<int> arrived{0};
  std::barrier start(kThreads + 1);
  std::barrier finish(kThreads + 1);

  auto work = [&](int t) {
    const auto me = static_cast<std::size_t>(t);
    for (;;) {
      start.arrive_and_wait();
      if (stop) return;
      RemovedList removed;
      recorded[me].clear();
      arrived.fetch_add(1);
      // Spin briefly (a yield would hand the core away), then yield so that a
      // descheduled team mate can arrive.
      for (int spins = 0; arrived.load() < kThreads; ++spins) {
        if (spins < 2000) {
          spin(1);
        } else {
          std::this_thread::yield();
        }
      }
      for (const auto& plan : plans[me]) {
        spin(plan.pause);
        lin::Op op{t, plan.kind, plan.key, plan.arg};
        const Key& key = keys[static_cast<std::size_t>(plan.key)];
        const auto now = Clock::time_point{};
        op.invoked = stamp.fetch_add(1);
        switch (plan.kind) {
          case lin::Kind::find:
            op.result = id_of(store->find(key, now, removed));
            break;
          case lin::Kind::insert:
            op.result = id_of(store->insert(key, entries[plan.arg], now, removed));
            break;
          case lin::Kind::erase:
            op.result = store->erase(key, nullptr, RemovalCause::erased, removed);
            break;
          case lin::Kind::erase_expected:
            op.result = store->erase(key, entries[plan.arg].get(), RemovalCause::erased, removed);
            break;
        }
        op.responded = stamp.fetch_add(1);
        recorded[me].push_back(op);
      }
      finish.arrive_and_wait();
    }
  };
  std::vector<std::thread> team;
  for (int t = 0; t < kThreads; ++t) team.emplace_back(work, t);

  SplitMix64 rng(seed);
  for (int run = 0; !done(run, outcome.overlapping); ++run) {
    const int key_count = 1 + run % 3;
    keys.clear();
    for (int k = 0; k < key_count; ++k) keys.push_back(test_key(rng.next()));
    entries.assign(1, nullptr);
    std::vector<std::vector<std::uint64_t>> ids_by_key(static_cast<std::size_t>(key_count));
    for (auto& plan : plans) {
      plan.clear();
      for (int i = 0; i < kOpsPerThread; ++i) {
        const int key = static_cast<int>(rng.next_below(static_cast<std::uint64_t>(key_count)));
        const std::uint64_t dice = rng.next_below(100);
        const int pause = static_cast<int>(rng.next_below(200));
        if (dice < 35) {
          const std::uint64_t id = entries.size();
          entries.push_back(make_entry(keys[static_cast<std::size_t>(key)], id));
          ids_by_key[static_cast<std::size_t>(key)].push_back(id);
          plan.push_back({lin::Kind::insert, key, id, pause});
        } else if (dice < 70) {
          plan.push_back({lin::Kind::find, key, 0, pause});
        } else if (dice < 85) {
          plan.push_back({lin::Kind::erase, key, 0, pause});
        } else {
          plan.push_back({lin::Kind::erase_expected, key, 0, pause});  // expected: below
        }
      }
    }
    // erase_expected names an entry of its key when there is one (else a fresh one
    // that is never inserted, so the erase must fail).
    for (auto& plan : plans) {
      for (auto& p : plan) {
        if (p.kind != lin::Kind::erase_expected) continue;
        const auto& ids = ids_by_key[static_cast<std::size_t>(p.key)];
        if (!ids.empty()) {
          p.arg = ids[rng.next_below(ids.size())];
        } else {
          p.arg = entries.size();
          entries.push_back(make_entry(keys[static_cast<std::size_t>(p.key)], p.arg));
        }
      }
    }
    store = make();
    arrived.store(0);
    start.arrive_and_wait();
    finish.arrive_and_wait();
    store.reset();

    std::vector<lin::Op> history;
    for (const auto& ops : recorded) history.insert(history.end(), ops.begin(), ops.end());
    outcome.ops += history.size();
    for (const auto& a : history) {
      for (const auto& b : history) {
        if (a.thread != b.thread && a.key == b.key && a.invoked < b.responded &&
            b.invoked < a.responded) {
          ++outcome.overlapping;
          break;
        }
      }
    }
    ++outcome.runs;
    const lin::Verdict verdict = lin::check(history);
    if (!verdict.ok) {
      if (outcome.violations++ == 0) {
        outcome.first_violation = "run " + std::to_string(run) + ", key " +
                                  std::to_string(verdict.bad_keys[0]) + ":\n" +
                                  lin::describe(history, verdict.bad_keys[0]);
      }
    }
  }
  stop = true;
  start.arrive_and_wait();
  for (auto& thread : team) thread.join();
  return outcome;
}

}  // namespace

TEST_CASE("linearizability: every engine's find/insert/erase histories are linearizable") {
  // Remote engines (redis) are left out: they report no removals and pay a round trip
  // per operation; tests/redis_*.cpp stress them.
  const std::string engine = GENERATE(from_range(memo_test::in_process_store_names()));
  CAPTURE(engine);
  const auto start = Clock::now();
  const Outcome outcome = record_and_check(
      [&] { return memo::make_store(engine, memo::StoreConfig{}); }, engine_budget(), 2024);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("linearizability %-11s %d runs, %zu ops (%zu overlapping another thread's op on "
              "their key), %d violations, %.2f s\n",
              engine.c_str(), outcome.runs, outcome.ops, outcome.overlapping, outcome.violations,
              seconds);
  // Histories without overlap prove little, but a machine whose cores are taken by
  // other work cannot be made to produce them: say so rather than fail.
  if (outcome.overlapping < engine_budget().target_overlapping) {
    WARN("only " << outcome.overlapping << " operations overlapped on " << engine
                 << ": the machine is busy; these histories tested little concurrency");
  }
  INFO(outcome.first_violation);
  CHECK(outcome.violations == 0);
}

TEST_CASE("linearizability: the checker catches a planted check-then-act insert") {
  const Outcome outcome =
      record_and_check([] { return std::make_unique<RacyInsertStore>(); }, Budget{300, 0, 0.0}, 7);
  std::printf("linearizability racy_insert %d runs, %d violations (expected > 0)\n",
              outcome.runs, outcome.violations);
  CHECK(outcome.violations > 0);
  if (outcome.violations > 0) std::printf("first violation, %s", outcome.first_violation.c_str());
}
