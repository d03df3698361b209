// The store interface: one small virtual surface over every engine.
//
// A store maps a Key to an immutable, type-erased Entry. It owns nothing but the
// mapping: single-flight, hashing, copying and statistics live in the cache layer
// above it (cache_core.h). Keeping stores this small is what lets very different
// engines (a locked map, TBB, a lock-free libcds map, a sharded LRU, later a Redis
// store of bytes) stand behind one contract and one test suite.
//
// All operations are thread safe. Each operation is linearizable per key.
//
// Removal reporting (the basis of on_release's exactly-once guarantee):
//   every entry that leaves a store -- evicted for max_entries, found expired, erased,
//   cleared -- is appended to the caller's RemovedList by exactly one operation, and
//   no entry is reported that was not first inserted. The cache layer runs on_release
//   for each reported entry, outside every store lock.
//
// Capacity: after any insert returns, size() <= max_entries (when bounded). Which
//   entry goes is the engine's eviction policy, stated in its header.
//
// Expiry: an Entry carries its own deadline. An operation that meets an expired
//   entry removes it (cause expired) and behaves as if it were absent. Expiry is lazy:
//   nothing is removed by the passage of time alone.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "memo/function_ref.h"
#include "memo/key.h"

namespace memo {

// An immutable cached value. Subclasses (cache_core.h) add the payload: serialized
// bytes for cache_data, a shared object for cache_resource.
class Entry {
 public:
  Entry(Clock::time_point expires_at, std::size_t bytes) : expires_at_(expires_at), bytes_(bytes) {}
  virtual ~Entry() = default;
  Entry(const Entry&) = delete;
  Entry& operator=(const Entry&) = delete;

  Clock::time_point expires_at() const { return expires_at_; }
  bool expired(Clock::time_point now) const { return now >= expires_at_; }
  // Payload size for statistics and byte budgets; 0 when unknown.
  std::size_t bytes() const { return bytes_; }

  static constexpr Clock::time_point never = Clock::time_point::max();

 private:
  const Clock::time_point expires_at_;
  const std::size_t bytes_;
};

using EntryPtr = std::shared_ptr<const Entry>;

enum class RemovalCause { evicted, expired, erased, cleared };
std::string_view to_string(RemovalCause cause);

struct Removed {
  Key key;
  EntryPtr entry;
  RemovalCause cause;
};
using RemovedList = std::vector<Removed>;

struct StoreConfig {
  // 0 means unbounded.
  std::size_t max_entries = 0;
  // Engines that shard use this many shards; 0 lets the engine choose.
  std::size_t shards = 0;
  // Stores shared between processes: the cache identity (names the store's keys, so two
  // caches never see each other's entries), the entry lifetime (Entry deadlines do not
  // cross processes), where to report problems (a server down is a warning, never an
  // exception), and how bytes read back become an entry.
  Key namespace_key{};
  std::optional<std::chrono::nanoseconds> ttl{};
  std::function<void(std::string_view)> warn{};
  std::string server{};  // e.g. "redis://host:6379/0"; empty: the engine's default
};

class Store {
 public:
  virtual ~Store() = default;

  // The live entry for `key`, or null. Counts as a use for the eviction policy.
  // An expired entry found here is removed and reported in `removed`.
  virtual EntryPtr find(const Key& key, Clock::time_point now, RemovedList& removed) = 0;

  // Calls `read` with the live entry for `key` and returns true; returns false on a miss
  // (nothing is called). Counts as a use, like find(); an expired entry met here is removed
  // and reported in `removed`.
  //   `read` runs outside every lock of the store, while the entry is guaranteed to stay
  //   alive; it may copy the EntryPtr to keep the entry longer. It may call any operation
  //   of this store (a decoder can run user code that calls the cache again), so an engine
  //   never waits for readers inside an operation.
  //   Why it exists: find() hands out a reference (a shared_ptr copy, one atomic write to
  //   the entry's count, which every thread hitting that entry contends on). An engine
  //   whose lookups are protected another way (epochs, hazard pointers) overrides visit()
  //   so that a hit writes no shared memory at all. The default calls find().
  virtual bool visit(const Key& key, Clock::time_point now, RemovedList& removed,
                     FunctionRef<void(const EntryPtr&)> read) {
    EntryPtr entry = find(key, now, removed);
    if (!entry) return false;
    read(entry);
    return true;
  }

  // Inserts `entry` unless a live entry for `key` exists (first writer wins).
  // Returns the entry stored under `key` afterwards: `entry` itself if it went in,
  // else the existing one. An expired existing entry is replaced (and reported).
  // Entries evicted to respect max_entries are reported in `removed`.
  virtual EntryPtr insert(const Key& key, EntryPtr entry, Clock::time_point now,
                          RemovedList& removed) = 0;

  // Makes `entry` the one stored under `key`, whatever was there (an overwrite). The entry
  // it displaces, if any, is reported with cause erased (expired if it had expired). When
  // the key had no entry it goes in as with insert(), evicting to respect max_entries.
  //   The default erases, then inserts, and does both again while another writer's insert
  //   lands in between; an engine that can swap the entry in place overrides it (one
  //   lookup instead of two, and no moment at which the key is absent).
  virtual void replace(const Key& key, EntryPtr entry, Clock::time_point now,
                       RemovedList& removed);

  // Removes the entry under `key`. With `expected` set, removes it only if it is that
  // very entry (so a stale validate/expiry decision never removes a fresh replacement).
  // Returns whether something was removed; it is reported with `cause`.
  virtual bool erase(const Key& key, const Entry* expected, RemovalCause cause,
                     RemovedList& removed) = 0;

  // Removes every entry (reported with cause cleared). Not atomic with respect to
  // concurrent inserts: an insert racing with clear may survive it.
  virtual void clear(RemovedList& removed) = 0;

  // Number of entries, expired ones not yet met included. May be approximate while
  // other threads are writing; exact when the store is quiescent.
  virtual std::size_t size() const = 0;

  virtual std::string_view name() const = 0;

  // False for stores that keep only bytes (e.g. a store shared between processes):
  // cache_resource refuses them with a clear error.
  virtual bool holds_objects() const { return true; }
};

// A store shared by several processes (and machines): it keeps bytes, not objects
// (holds_objects() is false), and coordinates misses across processes so that P
// processes missing one key run the function once. The cache layer uses it like any
// store, plus begin_miss() on the thread that runs a miss after the in-process
// single-flight: either another process has published the key meanwhile (use it), or
// this process holds the key's lease and computes, then publishes through the lease.
//
// publish() stores the entry under the clear generation observed at begin_miss(), so a
// clear() that returned -- in this process or any other -- is never undone by a write
// that was already in flight. A lease destroyed without publish() (the function threw)
// is released at once, so a waiting process takes over.
class MissLease {
 public:
  virtual ~MissLease() = default;
  // Returns the entry stored under the key afterwards: `entry` itself, or `entry` unstored
  // when a clear intervened or the store failed (after a warning). Never throws.
  virtual EntryPtr publish(EntryPtr entry) = 0;
};

struct MissTicket {
  EntryPtr published;                // non-null: another process's value; do not compute
  std::unique_ptr<MissLease> lease;  // else: compute, then lease->publish(); null lease and
                                     // null entry = coordination failed (warned): compute
                                     // and publish with insert()
};

class SharedStore : public Store {
 public:
  bool holds_objects() const override { return false; }
  // Blocks (without busy polling) while another process holds the key's lease; takes
  // over when that lease lapses (its holder died). Never throws.
  virtual MissTicket begin_miss(const Key& key, Clock::time_point now) = 0;
};

// Which entry an engine evicts to stay within max_entries.
enum class EvictionPolicy {
  exact_lru,    // the least recently used entry of the whole store
  sharded_lru,  // the least recently used entry of the inserting key's shard (exact
                // LRU with StoreConfig::shards = 1)
  clock,        // an approximation of LRU by reference bits swept by a hand
};
std::string_view to_string(EvictionPolicy policy);

// One row of the engine table (memo/store_engines.def), as make_store knows it.
struct StoreEngine {
  std::string_view name;
  bool bounded;    // honours StoreConfig::max_entries
  bool lock_free;  // find, insert and erase never wait for another thread (see its header)
  EvictionPolicy eviction;
  bool remote;  // a SharedStore keeping bytes in another process; reports no removals
  std::string_view needs;  // the optional library it needs; empty for none
};

// The engines compiled into this build, one enumerator per row of the engine table.
enum class StoreKind {
#define MEMO_STORE_ENGINE(name, ...) name,
#include "memo/store_engines.def"
#undef MEMO_STORE_ENGINE
};

constexpr std::string_view to_string(StoreKind kind) {
  switch (kind) {
#define MEMO_STORE_ENGINE(name, ...) \
  case StoreKind::name:              \
    return #name;
#include "memo/store_engines.def"
#undef MEMO_STORE_ENGINE
  }
  return "unknown";
}

// Every engine of this build, in the table's order.
const std::vector<StoreEngine>& store_engines();

// The names of store_engines(), in the same order.
std::vector<std::string> store_names();

// Makes an engine by name. Throws std::invalid_argument listing the known names.
std::unique_ptr<Store> make_store(std::string_view name, const StoreConfig& config);

}  // namespace memo
