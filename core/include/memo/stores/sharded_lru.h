// sharded_lru: N independent exact-LRU shards, each a mutex, a hash map and an
// intrusive recency list; a key's shard is fixed by its digest.
//
// Choose it as the default bounded store for many threads: operations on different
// shards never contend, and within a shard eviction is exact LRU. With shards = 1 it
// is a single exact LRU, like mutex_map.
//
// Concurrency guarantee: all operations are thread safe and linearizable per key;
//   each holds its key's shard mutex for its whole duration. clear() and size() visit
//   the shards one at a time, never holding two shard locks, so clear() is not atomic
//   across shards (as the Store contract allows) and size() is a sum of per-shard
//   counts read at slightly different moments.
// Eviction policy: exact LRU within a shard (find and an insert that meets a live
//   entry count as uses); globally an approximation of LRU that evicts from the
//   inserting key's shard only. How close it stays to global LRU is measured by
//   tests/store_hit_ratio_test.cpp.
// Global bound: shard i may hold floor(max_entries / N) entries, plus one when
//   i < max_entries % N. The capacities sum to exactly max_entries and each shard
//   enforces its own before its insert returns, so size() <= max_entries always
//   holds. (Rounding up, ceil(max / N) per shard, would overshoot the global bound.)
//   The price: a skewed key set can be evicted from a full shard while other shards
//   have room.
// Shard count: StoreConfig::shards when set, else the next power of two at or above
//   max(16, 4 x hardware threads). A bounded store never has more shards than
//   max_entries, so every shard holds at least one entry (a shard of capacity 0 would
//   make its keys uncacheable).
// Invariants (per shard, under its mutex): index.size() == length of the recency
//   list == the shard's published count <= its capacity; every index node is on the
//   list exactly once.
// Costs: O(1) expected per operation; one hash node per entry (~64 bytes beside the
//   Entry: the recency links live in the node, so no second allocation); shards are
//   cache-line aligned so their mutexes do not false-share. clear() is O(n).
// Limits: a preempted lock holder stalls its shard; hot keys that share a shard
//   serialise on its mutex.
#pragma once

#include <memory>

#include "memo/store.h"

namespace memo {

std::unique_ptr<Store> make_sharded_lru_store(const StoreConfig& config);

// The shard count a store made from `config` uses (documented above).
std::size_t sharded_lru_shard_count(const StoreConfig& config);

}  // namespace memo
