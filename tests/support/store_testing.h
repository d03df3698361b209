// Helpers for testing Store engines directly (header-only).
//
// TestEntry remembers the key it was made for and counts how often a store reports
// it removed, so tests can check "every removed entry reported exactly once" and
// "a find for k never returns an entry made for another key" without a side table.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "memo/store.h"
#include "support/zipf.h"

namespace memo_test {

using memo::Clock;

// A realistic key: both words well mixed, as XXH3 digests are.
inline memo::Key test_key(std::uint64_t n) { return {scatter(n), scatter(n ^ 0x5bd1e995ULL)}; }

// Counts, over entries made with it, how many died and how many died without having
// been reported exactly as often as they went in (once if they did, never if not).
struct ReleaseAudit {
  std::atomic<std::size_t> made{0};
  std::atomic<std::size_t> died{0};
  std::atomic<std::size_t> died_unbalanced{0};
};

struct TestEntry final : memo::Entry {
  TestEntry(const memo::Key& made_for, std::uint64_t serial,
            Clock::time_point expires_at = memo::Entry::never, ReleaseAudit* audit = nullptr)
      : memo::Entry(expires_at, 0), key(made_for), id(serial), audit_(audit) {
    if (audit_) audit_->made.fetch_add(1, std::memory_order_relaxed);
  }
  ~TestEntry() override {
    if (!audit_) return;
    // The last reference is gone: a store that still held it would have kept it alive.
    if (times_reported.load() != (went_in.load() ? 1 : 0)) audit_->died_unbalanced.fetch_add(1);
    audit_->died.fetch_add(1);
  }

  const memo::Key key;
  const std::uint64_t id;
  // Bookkeeping written by tests, not by stores.
  mutable std::atomic<int> times_reported{0};
  mutable std::atomic<bool> went_in{false};

 private:
  ReleaseAudit* const audit_;
};

inline std::shared_ptr<const TestEntry> make_entry(const memo::Key& key, std::uint64_t id,
                                                   Clock::time_point expires_at = memo::Entry::never,
                                                   ReleaseAudit* audit = nullptr) {
  return std::make_shared<const TestEntry>(key, id, expires_at, audit);
}

inline const TestEntry& as_test(const memo::Entry& entry) {
  return static_cast<const TestEntry&>(entry);
}

inline std::uint64_t id_of(const memo::EntryPtr& entry) { return entry ? as_test(*entry).id : 0; }

// Counts reports per entry; returns how many reports broke "at most once" or named
// a key other than the one the entry was made for.
inline std::size_t tally_reports(const memo::RemovedList& removed) {
  std::size_t broken = 0;
  for (const auto& r : removed) {
    const TestEntry& entry = as_test(*r.entry);
    if (entry.times_reported.fetch_add(1) != 0) ++broken;
    if (!(entry.key == r.key)) ++broken;
  }
  return broken;
}

struct EngineConfig {
  std::string engine;
  memo::StoreConfig config;
};

}  // namespace memo_test
