// The hit-ratio workload of tests/store_hit_ratio_test.cpp, shared with engine tests
// that state where their policy lands against it (header-only).
//
// A Zipf(0.99) trace over 100k keys, 1M accesses, cache capacity 10% of the keys, seed
// 42; each access is find, then insert on a miss (the cache layer's pattern).
// Single-threaded, so the figures are deterministic.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "memo/store.h"
#include "support/sanitizers.h"
#include "support/store_testing.h"
#include "support/zipf.h"

namespace memo_test {

struct Workload {
  std::uint64_t keys;
  std::size_t capacity;
  std::size_t accesses;
};

// ThreadSanitizer runs the same shape at a fifth of the size.
inline constexpr Workload kWorkload = kUnderThreadSanitizer ? Workload{20'000, 2'000, 200'000}
                                                            : Workload{100'000, 10'000, 1'000'000};
inline constexpr std::uint64_t kSeed = 42;

inline std::vector<std::uint32_t> zipf_trace() {
  ZipfGenerator zipf(kWorkload.keys, 0.99, kSeed);
  std::vector<std::uint32_t> trace(kWorkload.accesses);
  for (auto& rank : trace) rank = static_cast<std::uint32_t>(zipf.next());
  return trace;
}

inline double store_hit_ratio(const std::string& engine, const memo::StoreConfig& config,
                              const std::vector<std::uint32_t>& trace,
                              const std::vector<memo::Key>& keys) {
  auto store = memo::make_store(engine, config);
  const auto now = memo::Clock::now();
  memo::RemovedList removed;
  std::size_t hits = 0;
  std::uint64_t serial = 0;
  for (const auto rank : trace) {
    const memo::Key& key = keys[rank];
    if (store->find(key, now, removed)) {
      ++hits;
    } else {
      store->insert(key, make_entry(key, ++serial), now, removed);
    }
    removed.clear();
  }
  return static_cast<double>(hits) / static_cast<double>(trace.size());
}

// The keys the trace's ranks stand for.
inline std::vector<memo::Key> trace_keys() {
  std::vector<memo::Key> keys(kWorkload.keys);
  for (std::uint64_t rank = 0; rank < kWorkload.keys; ++rank) keys[rank] = test_key(rank);
  return keys;
}

}  // namespace memo_test
