// memo::UntypedCache: the type-erased cache behind every cached function.
//
// cache_data and cache_resource (cache.h) are typed views of an UntypedCache: they hash
// the arguments into a Key, turn results into payload bytes or shared objects, and call
// the members below. Everything else -- the store, single-flight, ttl, validation,
// releases, byte budgets, sessions, the disk and shared tiers, statistics -- lives behind
// this class, in the library. You only need it to write a decorator of your own.
//
// Lifetime: caches live for the process, as Streamlit's do. open() returns the cache of
// an identity, making it on first use; a cached function is a view of it, so declaring
// the same cached function again (in a function that runs per request, the C++ form of a
// script rerun) finds the entries stored before. Entries leave only by eviction, expiry,
// clear, failed validation or session end; nothing is released at process exit (as in
// Streamlit, on_release is not guaranteed to run when the app shuts down).
//
// All members are thread safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "memo/codec.h"
#include "memo/errors.h"
#include "memo/function_ref.h"
#include "memo/key.h"
#include "memo/observer.h"
#include "memo/options.h"
#include "memo/stats.h"

namespace memo {

enum class CacheKind { data, resource };

// What makes a cache: the options that shape what is stored. Two cached functions with
// equal `identity` share one cache; the typed layer hashes every field below into it.
struct CacheSettings {
  CacheKind kind = CacheKind::data;
  std::string display_name;
  Key identity;
  std::optional<Ttl> ttl;
  std::size_t max_entries = 0;  // 0: unbounded
  std::optional<std::size_t> max_bytes;
  std::string store_name = "mutex_map";
  std::string store_url;
  Scope scope = Scope::global;
  // cache_data with Persist::disk: where the files go, and a fingerprint of the value's
  // type, so a file written for another layout is refused before it is decoded.
  std::optional<std::filesystem::path> persist_directory;
  std::uint64_t value_fingerprint = 0;
};

// Callbacks that outlive a call: run when an entry leaves the cache, or to report a
// problem outside any call. Each declaration of a cached function hands its own; the
// newest declaration's are used from then on (a rerun re-declares with fresh closures).
struct CacheCallbacks {
  std::function<void(void* object)> on_release;  // cache_resource only
  std::shared_ptr<MissObserver> observer;        // null: default_observer()
};

// How one call shows a miss (the guide's show_spinner and show_time).
struct MissDisplay {
  Spinner spinner;
  bool show_time = false;
  std::shared_ptr<MissObserver> observer;  // null: default_observer() when the miss starts
};

// What a cache_resource miss made: the object and its size for byte budgets.
struct MadeObject {
  std::shared_ptr<void> object;
  std::size_t bytes = 0;
};

class UntypedCache {
 public:
  // The cache of settings.identity: the one already made, or a new one. Throws
  // std::invalid_argument for settings no cache can honour (an unknown store, a store of
  // bytes for cache_resource, a ttl of zero or below).
  static UntypedCache& open(const CacheSettings& settings, CacheCallbacks callbacks);

  // cache_data. On a hit, `read` is called with the stored bytes (it decodes the caller's
  // copy) and false is returned. On a miss, `compute` runs the function and returns its
  // encoded value, and true is returned: the caller already holds the fresh value. If
  // `read` throws CorruptData (bytes persisted by an older layout of the type), the entry
  // is dropped with a warning and the call becomes a miss.
  bool get_data(const Key& key, const MissDisplay& display,
                FunctionRef<void(const Payload&)> read, FunctionRef<Payload()> compute);

  // cache_resource: the shared object for `key`. `accept` (may be empty) is validate: a
  // stored object it refuses is dropped (on_release runs) and recomputed. The returned
  // pointer keeps the object alive; for a hit it was made without writing any memory
  // other threads share, where the store allows it.
  std::shared_ptr<void> get_object(const Key& key, const MissDisplay& display,
                                   FunctionRef<bool(const void*)> accept,
                                   FunctionRef<MadeObject()> compute);

  // Drops the entry for `key` (clear(args)), or every entry (clear()), from memory and
  // from the disk or shared tier. A run in flight when it is called hands its value to
  // its callers but does not store it, and later calls do not join it.
  void erase(const Key& key);
  void clear();

  CacheStats stats() const;
  const std::string& name() const;
  CacheKind kind() const;

  // Every cache of the process, in the order they were made.
  static std::vector<UntypedCache*> all();

  UntypedCache(const UntypedCache&) = delete;
  UntypedCache& operator=(const UntypedCache&) = delete;

 protected:
  UntypedCache() = default;
  ~UntypedCache() = default;  // caches live for the process
};

// A readable name for a type (the default name of a cached function).
std::string readable_type_name(const std::type_info& type);

}  // namespace memo
