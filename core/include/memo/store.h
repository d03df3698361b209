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

#include <memory>
#include <string>
#include <string_view>
#include <vector>

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
};

class Store {
 public:
  virtual ~Store() = default;

  // The live entry for `key`, or null. Counts as a use for the eviction policy.
  // An expired entry found here is removed and reported in `removed`.
  virtual EntryPtr find(const Key& key, Clock::time_point now, RemovedList& removed) = 0;

  // Inserts `entry` unless a live entry for `key` exists (first writer wins).
  // Returns the entry stored under `key` afterwards: `entry` itself if it went in,
  // else the existing one. An expired existing entry is replaced (and reported).
  // Entries evicted to respect max_entries are reported in `removed`.
  virtual EntryPtr insert(const Key& key, EntryPtr entry, Clock::time_point now,
                          RemovedList& removed) = 0;

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

// The engines compiled into this build, by their names in DESIGN.md §6.
enum class StoreKind { mutex_map, tbb_map, cds_map, sharded_lru };
std::string_view to_string(StoreKind kind);

// Names every engine available to make_store, in a fixed order.
std::vector<std::string> store_names();

// Makes an engine by name. Throws std::invalid_argument listing the known names.
std::unique_ptr<Store> make_store(std::string_view name, const StoreConfig& config);

}  // namespace memo
