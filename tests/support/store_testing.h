// Helpers for testing Store engines directly (header-only).
//
// TestEntry remembers the key it was made for and counts how often a store reports
// it removed, so tests can check "every removed entry reported exactly once" and
// "a find for k never returns an entry made for another key" without a side table.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "../../core/src/cache/entries.h"  // ValueEntry: what a store of bytes keeps
#include "memo/store.h"
#include "support/zipf.h"

namespace memo_test {

using memo::Clock;

// The engines that keep their entries in this process: every engine of the table but
// the remote ones (redis), which need a server and a namespace of their own and report
// no removals; the cache layer's tests run over these, the redis store has its own
// (tests/redis_*.cpp).
inline std::vector<std::string> in_process_store_names() {
  std::vector<std::string> names;
  for (const auto& engine : memo::store_engines()) {
    if (!engine.remote) names.emplace_back(engine.name);
  }
  return names;
}

// A realistic key: both words well mixed, as XXH3 digests are.
inline memo::Key test_key(std::uint64_t n) { return {scatter(n), scatter(n ^ 0x5bd1e995ULL)}; }

// Counts, over entries made with it, how many died and how many died without having
// been reported exactly as often as they went in (once if they did, never if not).
struct ReleaseAudit {
  std::atomic<std::size_t> made{0};
  std::atomic<std::size_t> died{0};
  std::atomic<std::size_t> died_unbalanced{0};
};

// A ValueEntry, so that a store of bytes (redis) can keep it too: its persistable bytes
// are its key and id, from which id_of() and key_of() read a copy a remote store rebuilt.
struct TestEntry final : memo::detail::ValueEntry {
  TestEntry(const memo::Key& made_for, std::uint64_t serial,
            Clock::time_point expires_at = memo::Entry::never, ReleaseAudit* audit = nullptr)
      : memo::detail::ValueEntry(expires_at, 0, {}), key(made_for), id(serial), audit_(audit) {
    std::memcpy(bytes_, &key.lo, 8);
    std::memcpy(bytes_ + 8, &key.hi, 8);
    std::memcpy(bytes_ + 16, &id, 8);
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

  std::span<const std::byte> persistable_bytes() const override {
    return {reinterpret_cast<const std::byte*>(bytes_), sizeof bytes_};
  }

 private:
  ReleaseAudit* const audit_;
  char bytes_[24];
};

inline std::shared_ptr<const TestEntry> make_entry(const memo::Key& key, std::uint64_t id,
                                                   Clock::time_point expires_at = memo::Entry::never,
                                                   ReleaseAudit* audit = nullptr) {
  return std::make_shared<const TestEntry>(key, id, expires_at, audit);
}

inline const TestEntry& as_test(const memo::Entry& entry) {
  return static_cast<const TestEntry&>(entry);
}

// The id of an entry made by make_entry(), or of a copy a remote store rebuilt from its
// bytes (which is not a TestEntry); 0 for null.
inline std::uint64_t id_of(const memo::EntryPtr& entry) {
  if (!entry) return 0;
  if (const auto* test = dynamic_cast<const TestEntry*>(entry.get())) return test->id;
  const auto bytes = static_cast<const memo::detail::ValueEntry&>(*entry).persistable_bytes();
  std::uint64_t id = 0;
  if (bytes.size() == 24) std::memcpy(&id, bytes.data() + 16, 8);
  return id;
}

inline memo::Key key_of(const memo::EntryPtr& entry) {
  if (const auto* test = dynamic_cast<const TestEntry*>(entry.get())) return test->key;
  const auto bytes = static_cast<const memo::detail::ValueEntry&>(*entry).persistable_bytes();
  memo::Key key;
  if (bytes.size() == 24) {
    std::memcpy(&key.lo, bytes.data(), 8);
    std::memcpy(&key.hi, bytes.data() + 8, 8);
  }
  return key;
}

// `got` is `expected`: the very object from an in-process engine; from a remote engine,
// which rebuilds entries from bytes, a copy with the same key and id.
inline bool same_entry(const memo::EntryPtr& got, const memo::EntryPtr& expected) {
  if (got == expected) return true;
  if (!got || !expected || dynamic_cast<const TestEntry*>(got.get())) return false;
  return id_of(got) == id_of(expected) && key_of(got) == key_of(expected);
}

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
