// Recency of the entries of one cache, kept only when a byte budget applies to it
// (max_bytes, or the process-wide budget): the store engines know their own eviction
// order, but a byte budget must pick victims by bytes across engines and across caches,
// so the cache layer keeps its own exact LRU order of (key, entry).
//
// Each use gets a tick from one process-wide counter, so the oldest entry of any cache
// can be compared with the oldest of any other: the process-wide budget evicts the
// globally least recently used entry first.
//
// Thread safety: every member is thread safe (one mutex per cache; a budgeted cache
// pays one uncontended lock per hit). Entries are tracked by (key, entry) so a late
// report about a replaced entry never untracks its replacement.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "memo/key.h"
#include "memo/store.h"

namespace memo::detail {

class RecencyTracker {
 public:
  void touch(const Key& key, const Entry* entry);  // adds or refreshes
  void forget(const Key& key, const Entry* entry);
  struct Oldest {
    Key key;
    const Entry* entry;
    std::uint64_t tick;
  };
  std::optional<Oldest> oldest() const;

 private:
  struct Use {
    Key key;
    const Entry* entry;
    std::uint64_t tick;
  };
  mutable std::mutex mu_;
  std::list<Use> order_;                                               // guarded; front = newest
  std::unordered_map<Key, std::list<Use>::iterator, KeyHash> where_;  // guarded
};

}  // namespace memo::detail
