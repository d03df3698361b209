// mutex_map: std::unordered_map behind one mutex, with an exact LRU list.
//
// Choose it as the baseline: simplest to trust, exact LRU, good with few threads.
// Every other engine is measured against it.
//
// Concurrency guarantee: all operations are thread safe and linearizable; each one
//   holds the single mutex for its whole duration.
// Why one mutex and not a reader-writer lock: with max_entries set, find() moves the
//   entry to the front of the recency list, so every read writes; a shared lock would
//   buy nothing and cost an extra atomic per operation. The mutex spins briefly before
//   it sleeps (glibc's adaptive kind; core/src/stores/adaptive_mutex.h says why), so a
//   second thread waits out a short critical section instead of a futex round trip.
// Eviction policy: exact least recently used. find() and a successful insert() count
//   as uses; when an insert makes size exceed max_entries, the tail goes.
// Invariants (under mu_): index_.size() == recency_.size(); each index value points at
//   the list node holding the same key; size() <= max_entries after every insert.
// Costs: O(1) expected per operation; one list node + one hash node per entry
//   (~100 bytes beside the Entry). clear() is O(n) under the lock.
// Limits: one lock, so throughput does not grow with threads and a preempted holder
//   stalls everyone (memo_stores measures this at 16 and 64 threads).
#pragma once

#include <memory>

#include "memo/store.h"

namespace memo {

std::unique_ptr<Store> make_mutex_map_store(const StoreConfig& config);

}  // namespace memo
