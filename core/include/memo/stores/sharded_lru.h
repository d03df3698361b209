// sharded_lru: N exact-LRU shards, each a mutex, a hash map and an intrusive recency
// list, under one global entry count; a key's shard is fixed by its digest.
//
// Choose it as the default bounded store for many threads: operations on different
// shards never contend, and within a shard eviction is exact LRU. With shards = 1 it
// is a single exact LRU, like mutex_map.
//
// Concurrency guarantee: all operations are thread safe and linearizable per key;
//   find and erase hold their key's shard mutex for their whole duration, and so does
//   an insert, except the rare insert that must evict from another shard (below),
//   which lets its shard go and starts again. No thread ever holds two shard locks.
//   Shard mutexes spin briefly before they sleep (adaptive_mutex.h in the sources).
//   clear() visits the shards one at a time, so it is not atomic across shards (as the
//   Store contract allows).
// Eviction policy: nothing is evicted before the store holds max_entries entries (the
//   guide: the oldest entry goes "when a new entry is added to a full cache"). A new
//   key that finds the store full evicts the least recently used entry of its own
//   shard; if that shard is empty, the least recently used entry of another shard
//   (the next non-empty one from a rotating start). So eviction is exact LRU within a
//   shard (find and an insert that meets a live entry count as uses) and globally an
//   approximation of LRU; how close it stays is measured by
//   tests/store_hit_ratio_test.cpp.
// Global bound: one atomic count of the entries in all shards, raised by an insert
//   (under its shard lock) before the entry is linked, only while it is below
//   max_entries, and lowered after an entry is unlinked -- except that an entry
//   evicted from another shard hands its place straight to the insert that evicted it
//   (so no other insert can take it meanwhile). So size() <= max_entries at every
//   instant, not only after each insert, and shards share the bound: a skewed key set
//   can fill the store from a few shards.
// Shard count: StoreConfig::shards when set, else the next power of two at or above
//   max(16, 4 x hardware threads); a bounded store never has more shards than
//   max_entries (more could not all hold an entry at once, and would only make the
//   cross-shard eviction the common case).
// Invariants: per shard, under its mutex, index.size() == length of the recency list,
//   and every index node is on the list exactly once; the sum over shards <= the
//   global count <= max_entries, equal when no insert or removal is in flight.
// Costs: O(1) expected per operation; an insert of a new key or a removal also writes
//   the global count (one atomic RMW on a line shared by all shards; an insert into a
//   full store whose own shard gives up its oldest entry leaves it untouched). One hash
//   node per entry (~64 bytes beside the Entry: the recency links live in the node, so
//   no second allocation); shards are cache-line aligned so their mutexes do not
//   false-share. clear() is O(n).
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
