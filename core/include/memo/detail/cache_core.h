// The type-erased engine under cache_data and cache_resource.
//
// One CacheCore per cache identity (function + identity-shaping options). It owns the
// store(s), single-flight, expiry bookkeeping, statistics, the miss observer and the
// release callback. The typed wrappers in cache.h only hash arguments, build entries
// and turn entries back into values.
//
// Hot path (a hit): hash the arguments (in the wrapper), one Store::find, one
// shared_ptr copy. Nothing else is locked or allocated.
//
// Miss path (single-flight): the first caller for a key registers a Flight under
// flights_mu_ and runs the function; later callers for that key wait on the flight's
// shared_future and get its entry, or its exception (a throwing function caches
// nothing and every waiter sees the same exception; the next call retries). Other
// keys never wait: flights_mu_ is held only to look up or register a flight.
// A call that would wait on a flight its own thread owns (the function calling itself
// with the same arguments) throws RecursiveCallError instead of deadlocking.
//
// Releases: every entry a store reports as removed goes through release(), exactly
// once, outside store locks; an exception from on_release is reported to the observer
// and counted, and never stops the other releases.
#pragma once

#include <atomic>
#include <future>
#include <memory>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "memo/detail/byte_budget.h"
#include "memo/detail/function_ref.h"
#include "memo/disk_cache.h"
#include "memo/key.h"
#include "memo/observer.h"
#include "memo/options.h"
#include "memo/stats.h"
#include "memo/store.h"

namespace memo {

// A cached function called itself, on the same thread, with the same arguments.
class RecursiveCallError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

namespace detail {

enum class CacheKind { data, resource };

// An entry as the cache layer stores it: the payload (in subclasses) plus the
// messages the function emitted while it ran, replayed on every hit.
class ValueEntry : public Entry {
 public:
  ValueEntry(Clock::time_point expires_at, std::size_t bytes, std::vector<std::string> messages)
      : Entry(expires_at, bytes), messages_(std::move(messages)) {}
  const std::vector<std::string>& messages() const { return messages_; }
  // The serialized form a disk tier can write; empty for entries that have none.
  virtual std::span<const std::byte> persistable_bytes() const { return {}; }

 private:
  const std::vector<std::string> messages_;
};

struct CoreSettings {
  CacheKind kind = CacheKind::data;
  std::string display_name;
  Key function_key;
  std::optional<std::chrono::nanoseconds> ttl;
  std::string store_name;
  StoreConfig store_config;
  Scope scope = Scope::global;
  Spinner spinner;
  bool show_time = false;
  std::shared_ptr<MissObserver> observer;  // null: default_observer() at each miss
  std::function<void(const Entry&)> on_release;
  // cache_data with Persist::disk: where the files go, and how a file becomes an entry.
  std::optional<std::size_t> max_bytes;
  std::optional<std::filesystem::path> persist_directory;
  std::function<EntryPtr(DiskEntry&&, Clock::time_point expires_at)> from_disk;
};

class CacheCore {
 public:
  // The cache for settings.function_key: an existing live one, or a new one. Caches
  // with the same identity share entries; the first one's callbacks are used.
  static std::shared_ptr<CacheCore> open(CoreSettings settings);

  explicit CacheCore(CoreSettings settings);
  ~CacheCore();  // releases every entry still stored
  CacheCore(const CacheCore&) = delete;
  CacheCore& operator=(const CacheCore&) = delete;

  struct Result {
    EntryPtr entry;
    bool computed_here;  // this call ran the function (no replay, value already fresh)
  };
  // `accept` (may be empty) vets a stored entry on each hit (cache_resource's validate);
  // `compute` runs the function and builds the entry expiring at the given deadline.
  Result get(const Key& key, FunctionRef<bool(const Entry&)> accept,
             FunctionRef<EntryPtr(Clock::time_point)> compute);

  void erase(const Key& key);
  void clear();
  void drop_session(std::uint64_t session_id);
  CacheStats stats() const;

  const CoreSettings& settings() const { return settings_; }
  CacheKind kind() const { return settings_.kind; }

  // Every live cache of one kind (for clear_all and the global statistics).
  static std::vector<std::shared_ptr<CacheCore>> all(CacheKind kind);

 private:
  struct Flight {
    std::thread::id owner;
    std::uint64_t generation;
    // Set by erase()/clear() racing with the run: its value then goes to its callers but
    // is not stored, and later callers start a fresh run instead of joining this one
    // (else a caller that cleared a key and called again could be handed this run's
    // value while the key stays absent).
    std::atomic<bool> retired{false};
    std::promise<EntryPtr> promise;
    std::shared_future<EntryPtr> result;
  };

  void clear_memory();
  bool budgeted() const;
  void track_use(const Key& key, const Entry& entry);
  void enforce_budgets();
  // Evicts this cache's least recently used entry under a byte budget; false if none.
  bool evict_oldest();
  void count_stored(const Entry& entry);
  // Inserts a freshly made entry and does the bookkeeping: statistics, releases of what
  // the insert evicted, budgets. Returns what the store holds for `key` afterwards.
  EntryPtr store_new(Store& store, const Key& key, const EntryPtr& entry, Clock::time_point now);
  std::shared_ptr<Store> store_for_current_session();
  Key scoped(const Key& key) const;
  Result compute_once(Store& store, const Key& key, Clock::time_point now,
                      FunctionRef<bool(const Entry&)> accept,
                      FunctionRef<EntryPtr(Clock::time_point)> compute);
  EntryPtr run_miss(Store& store, const Key& key, Clock::time_point now, Flight& flight,
                    FunctionRef<EntryPtr(Clock::time_point)> compute);
  bool accepted(const Entry& entry, FunctionRef<bool(const Entry&)> accept);
  void finish_flight(const Key& key, const Flight& flight);
  void retire_flight(const Key& key);
  void retire_all_flights();
  void release(RemovedList& removed);
  void replay(const Entry& entry) const;
  MissObserver& observer() const;
  void warn(const std::string& message) const;

  std::optional<Result> load_from_disk(Store& store, const Key& key, Clock::time_point now);
  void persist(const Key& key, const Entry& entry, std::uint64_t generation);

  const CoreSettings settings_;
  const std::shared_ptr<Store> global_store_;  // null for session scope
  std::optional<DiskCache> disk_;
  RecencyTracker recency_;                 // used only while budgeted()
  std::atomic<bool> recency_used_{false};

  mutable std::shared_mutex sessions_mu_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Store>> session_stores_;  // guarded

  std::mutex flights_mu_;
  std::unordered_map<Key, std::shared_ptr<Flight>, KeyHash> flights_;  // guarded

  // Bumped by clear(): a flight that started before it does not store its result.
  std::atomic<std::uint64_t> generation_{0};

  struct Counters {
    std::atomic<std::uint64_t> hits{0}, misses{0}, coalesced{0}, evictions{0},
        expirations{0}, invalidations{0}, releases{0}, release_errors{0}, disk_hits{0};
    std::atomic<std::int64_t> entries{0}, bytes{0};
  };
  mutable Counters counters_;
};

}  // namespace detail
}  // namespace memo
