// make_store and friends: the engine table (memo/store_engines.def) expanded into the
// factories and traits the library looks engines up in, and the Store interface's
// out-of-line parts. Nothing here names an engine.
#include <stdexcept>

#include "memo/store.h"

namespace memo {

// Each row's factory, declared from the row itself: the registry needs no engine header.
#define MEMO_STORE_ENGINE(name, factory, ...) \
  std::unique_ptr<Store> factory(const StoreConfig& config);
#include "memo/store_engines.def"
#undef MEMO_STORE_ENGINE

namespace {

using Factory = std::unique_ptr<Store> (*)(const StoreConfig&);

struct Row {
  StoreEngine engine;
  Factory make;
};

constexpr Row kRows[] = {
#define MEMO_STORE_ENGINE(name, factory, bounded, lock_free, eviction, remote, needs) \
  {{#name, bounded, lock_free, EvictionPolicy::eviction, remote, needs}, &factory},
#include "memo/store_engines.def"
#undef MEMO_STORE_ENGINE
};

std::string known_names() {
  std::string known;
  for (const Row& row : kRows) {
    known += known.empty() ? "" : ", ";
    known += row.engine.name;
  }
  return known;
}

}  // namespace

void Store::replace(const Key& key, EntryPtr entry, Clock::time_point now, RemovedList& removed) {
  // Checked first: a refused entry must not cost the key its current one.
  if (!entry) throw std::invalid_argument("memo: a store cannot hold a null entry");
  for (;;) {
    const std::size_t reported = removed.size();
    erase(key, nullptr, RemovalCause::erased, removed);
    // erase() takes no clock: what it removed had expired if its deadline has passed.
    for (std::size_t i = reported; i < removed.size(); ++i) {
      if (removed[i].entry->expired(now)) removed[i].cause = RemovalCause::expired;
    }
    // insert() hands back `entry` itself when it went in (or when a remote store failed
    // and warned); anything else is another writer's entry, which must go too.
    if (insert(key, entry, now, removed).get() == entry.get()) return;
  }
}

std::string_view to_string(RemovalCause cause) {
  switch (cause) {
    case RemovalCause::evicted: return "evicted";
    case RemovalCause::expired: return "expired";
    case RemovalCause::erased: return "erased";
    case RemovalCause::cleared: return "cleared";
  }
  return "unknown";
}

std::string_view to_string(EvictionPolicy policy) {
  switch (policy) {
    case EvictionPolicy::exact_lru: return "exact LRU";
    case EvictionPolicy::sharded_lru: return "per-shard LRU";
    case EvictionPolicy::clock: return "CLOCK";
  }
  return "unknown";
}

const std::vector<StoreEngine>& store_engines() {
  static const std::vector<StoreEngine> engines = [] {
    std::vector<StoreEngine> all;
    for (const Row& row : kRows) all.push_back(row.engine);
    return all;
  }();
  return engines;
}

std::vector<std::string> store_names() {
  std::vector<std::string> names;
  for (const Row& row : kRows) names.emplace_back(row.engine.name);
  return names;
}

std::unique_ptr<Store> make_store(std::string_view name, const StoreConfig& config) {
  for (const Row& row : kRows) {
    if (row.engine.name == name) return row.make(config);
  }
  throw std::invalid_argument("memo: unknown store '" + std::string(name) +
                              "'; known stores: " + known_names());
}

}  // namespace memo
