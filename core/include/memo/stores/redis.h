// redis: a store for cache_data kept in a Redis server (or a Redis Cluster), shared by
// every process -- on any machine -- that makes a cache with the same identity.
//
// Choose it when several processes (replicas of one app, workers of one job) should
// compute each value once between them: a value computed by one is a hit for all, a
// clear() in one is seen by the next call in every other, and P processes missing one
// key run the function once. It keeps bytes, not objects (holds_objects() is false), so
// cache_resource refuses it. Built only when hiredis was found (MEMO_HAVE_HIREDIS).
//
// Server: StoreConfig::server, else $MEMO_REDIS_URL, else redis://127.0.0.1:6379/0.
//   Format redis://[user:password@]host:port/db[?timeout_ms=N&connect_timeout_ms=N&
//   lease_ms=N]; a Redis Cluster is detected (CLUSTER SLOTS) and needs db 0. Messages
//   name a server as host:port/db, never with its credentials.
// Guarantee: find() returns a value some process published for this key under the
//   current clear generations, whole and checksummed, or nothing; never a partial or
//   mixed value. Every operation is thread safe and never throws for a server problem:
//   a server down, a timeout, a corrupt value or a full server is a warning through
//   StoreConfig::warn (stderr when unset; repeats of one kind of transport problem are
//   rate-limited) and the operation degrades -- a find misses, an insert or publish
//   returns the entry unstored, begin_miss returns an empty ticket (compute locally).
//   Calls reconnect by themselves once the server is back.
// Layout (all keys of one entry share a hash tag, so they live on one cluster node;
//   entries of one function spread over the cluster's slots):
//     memo:clear-all            the global clear generation G (cache_data_clear_all)
//     memo:{N}:meta, :lru,      per function N (the cache identity): clear generation F,
//       :ver, :gone             a use counter, the recency set for max_entries, and the
//                               stamp (server clock) of the write each key is counted for
//                               and of its last erased one, so that racing writes and
//                               erases of one key leave it counted exactly when present
//     memo:{N.K}:m              the manifest of key K: the generations it was written
//                               under, a version id, sizes, an XXH3 checksum, the
//                               replayed messages, and the value itself when small
//     memo:{N.K}:c:<ver>:<i>    chunk i of a large value, version ver
//     memo:{N.K}:lease, :done   the single-flight lease and its wake-up channel
// Generations (clear in O(1)): a manifest is live only while its (G, F) equal the
//   server's. clear() increments F; the global clear increments G. A write carries the
//   generations observed when it began, so a clear that returned -- in any process --
//   is never undone by a write already in flight: that write lands stale and unseen.
// Values of any size: a value above inline_bytes is written as chunks under a fresh
//   version id (with a safety expiry), then the manifest is swapped in by one script that
//   also gives the chunks the entry's lifetime; the old version's chunks are deleted
//   afterwards. A reader that finds a chunk gone (replaced meanwhile) reads the manifest
//   again; the checksum rejects anything mixed or altered (a warning, the entry dropped).
// Single flight across processes: begin_miss() takes the lease (SET NX PX inside a
//   script) or waits for it on a shard pub/sub channel -- no polling -- with the wait
//   bounded by the lease's remaining time, so a holder that died (its lease lapsed) is
//   replaced by exactly one waiter. A background thread renews held leases every
//   lease/3. publish() stores only while the lease is still its own; a lease dropped
//   unpublished (the function threw) is released at once and its waiters woken.
//   erase() (clear(args)) also takes the lease away, so a computation that began
//   before it cannot publish. A lease that lapses because a renewal reached the server
//   a whole lease late (a stalled process, a busy server) is a warning: another process
//   may compute the same value, and this result is not stored.
// Eviction policy: exact LRU across processes over the per-function recency set (a
//   find counts as a use); the set is trimmed to max_entries by the script that admits
//   a new entry. ttl is the Redis expiry of the manifest and its chunks (an entry's own
//   deadline does not cross processes).
// Removal reporting: none -- the bytes live in another process, so RemovedList stays
//   empty and no on_release can apply (cache_data has none).
// Costs: a hit is one round trip (standalone: four commands pipelined; cluster: one per
//   node touched, in parallel) plus one per chunk window for large values, which are
//   received straight into the payload buffer (no hiredis copy). An insert is three
//   round trips (generations, manifest script, admission); a miss under a lease adds
//   the acquire script. Connections are pooled per node, so a slow reply on one key
//   never holds up another thread.
// Limits: the bytes of entries made stale by a global clear stay until their key is
//   written again, their ttl lapses or max_entries trims them (a per-function clear
//   deletes them). An entry evicted at the very moment another process rewrites it may
//   be deleted and counted once more than it should until it is next trimmed. Counting
//   orders racing writes of one key by the clock of the node that holds the key: a slot
//   moved to a node whose clock is behind may leave one rewrite of a key uncounted. A process
//   needs its clock only for ttl; generations and recency are server-side counters.
//   After fork(), a child opens connections of its own (the ones it inherited stay its
//   parent's) and draws its own tokens; a lease held at the fork stays the parent's.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "memo/store.h"

namespace memo {

struct RedisStoreOptions {
  // Overridden by the same options in the server URL.
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{2000};  // per socket read/write, not per value
  std::chrono::milliseconds lease{5000};            // renewed every lease/3 while computing
  // Values above inline_bytes are split into chunks of chunk_bytes (below Redis's 512 MB
  // string limit); smaller ones live in the manifest itself (one round trip per hit).
  std::size_t inline_bytes = std::size_t{256} << 10;
  std::size_t chunk_bytes = std::size_t{16} << 20;
  // Chunks in flight per connection while reading or writing a large value.
  std::size_t chunk_window = 4;
};

class RedisStore : public SharedStore {
 public:
  // The global clear: every cache_data cache on this store's server -- every function,
  // in every process -- misses from the next call on (G is incremented). Never throws.
  virtual void clear_all_namespaces() = 0;
};

// Connects lazily: a server that is down when the store is made is a warning at the
// first call, not an exception. Throws std::invalid_argument for a malformed address
// (the message never contains the password).
std::unique_ptr<RedisStore> make_redis_store(const StoreConfig& config,
                                             const RedisStoreOptions& options);
// The engine table's factory: default options (the server URL may still set timeouts
// and the lease).
std::unique_ptr<Store> make_redis_store(const StoreConfig& config);

}  // namespace memo
