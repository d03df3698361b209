// CacheCore: one cache -- the implementation behind memo::UntypedCache.
//
// It orchestrates parts that each have one job and one contract, in their own files:
//   registry.h     identity -> cache, for the life of the process
//   shelf.h        a store + the single-flight table of its misses + the gate that orders
//                  publication against clear (global scope: one shelf; session scope: one
//                  per session, closed on disconnect)
//   flights.h      single-flight; an RAII leader finishes its run on every way out
//   hit_slots.h    the hit path's per-thread references, so a hit writes no shared memory
//   budget.h       byte budgets over evictable entries, exact LRU across caches
//   entries.h      the entries, their lifecycle flags, and release of never-stored objects
//   disk_cache.h   the disk tier (cache_data with persist = disk)
// and, here, the releases: every entry a store reports removed is marked retired,
// accounted for and handed to on_release exactly once, after every lock is let go.
//
// Locks, in the only order they are ever taken: a shelf's gate, then its flights' mutex
// or the store's own locks. The sessions mutex, the callbacks mutex, a budget tracker's
// mutex and the registry's are leaves. No user callback (the function, validate,
// on_release, the observer, a session's sink, a hash function, a decoder) and no entry
// destructor runs while any of them is held.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "cache/budget.h"
#include "cache/entries.h"
#include "cache/hit_slots.h"
#include "cache/messages.h"
#include "cache/shelf.h"
#include "cache/striped_counter.h"
#include "memo/disk_cache.h"
#include "memo/untyped_cache.h"

namespace memo::detail {

// Throws std::invalid_argument for settings no cache can honour; returns them otherwise.
const CacheSettings& validated(const CacheSettings& settings);

class CacheCore final : public UntypedCache, public UnstoredRelease {
 public:
  CacheCore(const CacheSettings& settings, CacheCallbacks callbacks);
  ~CacheCore() override;

  bool get_data(const Key& key, const MissDisplay& display, FunctionRef<void(const Payload&)> read,
                FunctionRef<Payload()> compute);
  std::shared_ptr<void> get_object(const Key& key, const MissDisplay& display,
                                   FunctionRef<bool(const void*)> accept,
                                   FunctionRef<MadeObject()> compute);
  void erase(const Key& key);
  void clear();
  CacheStats stats() const;
  const CacheSettings& settings() const { return settings_; }

  // The newest declaration's callbacks replace the current ones.
  void adopt(CacheCallbacks callbacks);
  // Session end (memo::Session::disconnect).
  void drop_session(std::uint64_t session_id);
  void release_unstored(const ResourceEntry& entry) noexcept override;

  // For the process byte budget, which compares the oldest use of every cache.
  bool budgeted() const;
  std::optional<RecencyTracker::Oldest> oldest_use() const;
  // Evicts this cache's least recently used entry; false if it has none.
  bool evict_oldest();

 private:
  // The shelf a call works on: global caches have one for the life of the cache; a
  // session's shelf is held by the call so a disconnect cannot free it underneath.
  struct ShelfHold {
    Shelf* shelf = nullptr;
    std::shared_ptr<Shelf> keep;
  };
  // What a lookup found: the entry, kept alive by `keep` -- a thread-private owner from
  // the hit slots, or (off the fast path) a reference to the entry itself.
  struct Found {
    const ValueEntry* entry = nullptr;
    std::shared_ptr<const void> keep;
  };
  struct MissResult {
    std::shared_ptr<const ValueEntry> entry;
    bool computed_here = false;
  };
  using Accept = FunctionRef<bool(const ValueEntry&)>;
  using Build = FunctionRef<std::shared_ptr<const ValueEntry>(MessageRecorder&)>;

  Key scoped(const Key& key) const;
  ShelfHold shelf_for_call();
  Clock::time_point now_for_ttl() const;
  Clock::time_point deadline() const;
  bool slots_usable() const { return shared_store_ == nullptr; }
  bool store_sees_hits() const;

  Found lookup(const Key& key, Clock::time_point now, ShelfHold& shelf);
  void hit_done(const Key& key, const ValueEntry& entry);
  bool accepted(const ValueEntry& entry, Accept accept);
  // Drops `entry` (and only it) from the shelf: validate said no, or its bytes no longer
  // decode.
  void invalidate(Shelf& shelf, const Key& key, const ValueEntry& entry);

  MissResult miss(ShelfHold& shelf, const Key& key, const MissDisplay& display, Accept accept,
                  Build build, bool use_disk);
  MissResult lead(Shelf& shelf, const Key& key, Leader& leader, const MissDisplay& display,
                  Accept accept, Build build, bool use_disk);
  std::shared_ptr<const ValueEntry> run_function(const MissDisplay& display, Build build);
  // Stores `entry` unless a clear, an erase or a disconnect intervened. Returns the
  // entry stored under `key` afterwards, or `entry` itself unstored.
  struct Published {
    std::shared_ptr<const ValueEntry> entry;
    bool went_in = false;  // `entry` itself is what the store now holds
  };
  Published publish(Shelf& shelf, const Key& key, std::uint64_t generation, const Run& run,
                    std::shared_ptr<const ValueEntry> entry, MissLease* lease);
  std::shared_ptr<const ValueEntry> load_from_disk(const Key& key);
  void persist(Shelf& shelf, const Key& key, std::uint64_t generation, const Run& run,
               const ValueEntry& entry);

  void count_stored(const Key& key, const ValueEntry& entry);
  void release(RemovedList& removed);
  void run_on_release(const ValueEntry& entry, std::string_view why) noexcept;
  void enforce_budgets();
  void replay(const ValueEntry& entry) const;
  std::shared_ptr<const CacheCallbacks> callbacks() const;
  // Reports through the observer -- or, while this thread holds one of this cache's
  // gates, queues the message for when it has let go (see DeferredWarnings).
  void warn(const std::string& message) const noexcept;
  class DeferredWarnings;

  const CacheSettings settings_;
  const std::unique_ptr<Shelf> global_shelf_;  // null for session scope
  SharedStore* const shared_store_;            // the global shelf's store, if shared
  std::optional<DiskCache> disk_;

  mutable std::mutex callbacks_mu_;
  std::shared_ptr<const CacheCallbacks> callbacks_;  // guarded by callbacks_mu_

  std::mutex sessions_mu_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Shelf>> session_shelves_;  // guarded

  RecencyTracker recency_;  // used while budgeted()

  StripedCounter hits_;
  struct Counters {
    std::atomic<std::uint64_t> misses{0}, coalesced{0}, evictions{0}, expirations{0},
        invalidations{0}, releases{0}, release_errors{0}, disk_hits{0};
    std::atomic<std::int64_t> entries{0}, bytes{0};
  };
  mutable Counters counters_;
};

}  // namespace memo::detail
