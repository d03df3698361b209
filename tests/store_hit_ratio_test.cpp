// How far each approximate eviction policy falls behind exact LRU.
//
// Workload: a Zipf(0.99) trace over 100k keys, 1M accesses, cache capacity 10% of the
// keys, seed 42; each access is find, then insert on a miss (the cache layer's
// pattern). Single-threaded, so the figures are deterministic. Printed as a table:
//   build-stores/tests/memo_tests "eviction policies*" -s | grep -v '^ *CHECK'
// Measured (Release): exact LRU 0.7280, CLOCK (tbb_map and cds_map) 0.7360 (+0.79
// points), sharded_lru with 16 and 64 shards 0.7279 / 0.7276 (-0.01 / -0.04 points),
// random eviction 0.6930 (-3.51 points). CLOCK beats LRU slightly here because new
// entries start with a clear reference bit, so one-off keys leave first.
//
// Bounds: within 2 points of exact LRU, and more than half of LRU's advantage over
// random eviction kept. Under the independent reference model a Zipf(0.99) trace
// leaves LRU only a few points above random eviction, so the second check is what a
// policy that ignores recency fails: a CLOCK whose reference bits were ignored (FIFO)
// measured 0.6924 and fails both.
#include <catch2/catch.hpp>
#include <cstdio>
#include <unordered_map>
#include <vector>

#include "memo/store.h"
#include "support/hit_ratio.h"
#include "support/sanitizers.h"
#include "support/store_testing.h"
#include "support/zipf.h"

using memo::Key;
using memo::StoreConfig;
using namespace memo_test;

namespace {

// Random eviction: the floor. A dense array of resident ranks plus their positions.
double random_eviction_hit_ratio(const std::vector<std::uint32_t>& trace) {
  SplitMix64 rng(kSeed);
  std::vector<std::uint32_t> resident;
  std::unordered_map<std::uint32_t, std::size_t> position;
  std::size_t hits = 0;
  for (const auto rank : trace) {
    if (position.count(rank)) {
      ++hits;
      continue;
    }
    if (resident.size() == kWorkload.capacity) {
      const std::size_t victim = rng.next_below(resident.size());
      position.erase(resident[victim]);
      resident[victim] = resident.back();
      position[resident[victim]] = victim;
      resident.pop_back();
    }
    position[rank] = resident.size();
    resident.push_back(rank);
  }
  return static_cast<double>(hits) / static_cast<double>(trace.size());
}

}  // namespace

TEST_CASE("zipf generator: deterministic, in range, and skewed as Zipf(0.99)") {
  ZipfGenerator a(1000, 0.99, 7);
  ZipfGenerator b(1000, 0.99, 7);
  std::vector<std::size_t> counts(1000);
  constexpr int kDraws = 200'000;
  bool same = true;
  for (int i = 0; i < kDraws; ++i) {
    const auto rank = a.next();
    same = same && rank == b.next();
    REQUIRE(rank < 1000);
    ++counts[rank];
  }
  CHECK(same);
  // Gray's method is exact for ranks 0 and 1 and close elsewhere.
  CHECK(static_cast<double>(counts[0]) / kDraws == Approx(a.probability(0)).epsilon(0.03));
  CHECK(static_cast<double>(counts[1]) / kDraws == Approx(a.probability(1)).epsilon(0.05));
  CHECK(counts[0] > counts[9] * 5);
}

TEST_CASE("eviction policies: hit-ratio gap to exact LRU on a Zipf(0.99) trace") {
  const auto trace = zipf_trace();
  const std::vector<Key> keys = trace_keys();

  // The reference: the first engine of the table whose policy is exact LRU (mutex_map).
  std::string reference;
  for (const auto& engine : memo::store_engines()) {
    if (engine.eviction == memo::EvictionPolicy::exact_lru) {
      reference = engine.name;
      break;
    }
  }
  REQUIRE_FALSE(reference.empty());
  const StoreConfig bounded{kWorkload.capacity, 0};
  const double lru = store_hit_ratio(reference, bounded, trace, keys);
  const double floor = random_eviction_hit_ratio(trace);
  std::printf("\nhit ratio, Zipf(0.99), %llu keys, capacity %zu, %zu accesses, seed %llu\n",
              static_cast<unsigned long long>(kWorkload.keys), kWorkload.capacity,
              kWorkload.accesses, static_cast<unsigned long long>(kSeed));
  std::printf("  %-34s %.4f\n", ("exact LRU (" + reference + ")").c_str(), lru);
  std::printf("  %-34s %.4f  (%+.2f points vs LRU)\n", "random eviction (floor)", floor,
              100 * (floor - lru));

  // Every other engine of the table; sharded ones also with 64 shards.
  struct Approximate {
    std::string label;
    std::string engine;
    StoreConfig config;
  };
  std::vector<Approximate> approximations;
  for (const auto& engine : memo::store_engines()) {
    if (engine.name == reference) continue;
    // A remote engine (redis) would pay a round trip per access of the trace; its exact
    // LRU across processes is checked in tests/redis_store_test.cpp.
    if (engine.remote) continue;
    const std::string policy(memo::to_string(engine.eviction));
    const std::string name(engine.name);
    if (engine.eviction == memo::EvictionPolicy::sharded_lru) {
      approximations.push_back({policy + " (" + name + ", auto)", name, bounded});
      approximations.push_back({policy + " (" + name + ", 64)", name, {kWorkload.capacity, 64}});
    } else {
      approximations.push_back({policy + " (" + name + ")", name, bounded});
    }
  }
  for (const auto& approx : approximations) {
    const double ratio = store_hit_ratio(approx.engine, approx.config, trace, keys);
    std::printf("  %-34s %.4f  (%+.2f points vs LRU)\n", approx.label.c_str(), ratio,
                100 * (ratio - lru));
    CAPTURE(approx.label, ratio, lru, floor);
    // Measured gaps are within +-1 point (see the header); 2 points is the bar. A
    // CLOCK that ignored its reference bits (FIFO) lands near the floor and fails.
    CHECK(ratio >= lru - 0.02);
    // Keeps more than half of what exact LRU gains over evicting at random.
    CHECK(ratio > (lru + floor) / 2);
  }
  // Sanity of the references themselves: a skewed trace with a 10% cache hits often,
  // and exact LRU beats random eviction.
  CHECK(lru > 0.4);
  CHECK(lru > floor);
}
