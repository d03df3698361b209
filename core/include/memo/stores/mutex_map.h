// mutex_map: std::unordered_map behind one std::mutex, with an exact LRU list.
//
// Choose it as the baseline: simplest to trust, exact LRU, good with few threads.
// Every other engine is measured against it.
//
// Concurrency guarantee: all operations are thread safe and linearizable; each one
//   holds the single mutex for its whole duration.
// Why a plain mutex and not a reader-writer lock: with max_entries set, find() moves
//   the entry to the front of the recency list, so every read writes; a shared lock
//   would buy nothing and cost an extra atomic per operation.
// Eviction policy: exact least recently used. find() and a successful insert() count
//   as uses; when an insert makes size exceed max_entries, the tail goes.
// Invariants (under mu_): index_.size() == recency_.size(); each index value points at
//   the list node holding the same key; size() <= max_entries after every insert.
// Costs: O(1) expected per operation; one list node + one hash node per entry
//   (~100 bytes beside the Entry). clear() is O(n) under the lock.
// Limits: one lock, so throughput does not grow with threads and a preempted holder
//   stalls everyone (memo_stores measures this at 16 and 64 threads).
#pragma once

#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "memo/store.h"

namespace memo {

class MutexMapStore final : public Store {
 public:
  explicit MutexMapStore(const StoreConfig& config) : max_entries_(config.max_entries) {}

  EntryPtr find(const Key& key, Clock::time_point now, RemovedList& removed) override;
  EntryPtr insert(const Key& key, EntryPtr entry, Clock::time_point now,
                  RemovedList& removed) override;
  bool erase(const Key& key, const Entry* expected, RemovalCause cause,
             RemovedList& removed) override;
  void clear(RemovedList& removed) override;
  std::size_t size() const override;
  std::string_view name() const override { return "mutex_map"; }

 private:
  struct Slot {
    Key key;
    EntryPtr entry;
  };
  using Recency = std::list<Slot>;  // front = most recently used

  void remove_locked(Recency::iterator it, RemovalCause cause, RemovedList& removed);

  const std::size_t max_entries_;
  mutable std::mutex mu_;
  Recency recency_;                                           // guarded by mu_
  std::unordered_map<Key, Recency::iterator, KeyHash> index_;  // guarded by mu_
};

std::unique_ptr<Store> make_mutex_map_store(const StoreConfig& config);

}  // namespace memo
