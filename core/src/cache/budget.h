// Byte budgets: `max_bytes` per cache and the process-wide budget
// (memo::set_process_byte_budget), over evictable entries only.
//
// Which entries count: those of global-scope caches. A session-scoped entry leaves only
// with its session, so a budget could never evict it; counting it would make every other
// cache evict everything on every insert instead.
//
// Victims: the least recently used entry first. Store engines keep their own eviction
// order, but a byte budget picks victims by bytes across engines and across caches, so
// each budgeted cache keeps an exact LRU order of (key, entry) here. Every use takes a
// tick from one process-wide counter, so the oldest entry of any cache can be compared
// with the oldest of any other: the process budget evicts the globally oldest first.
//
// Recency records and races: a record names the very entry (its address, compared,
// never followed) it was made for. An insert records its entry, replacing the key's
// record; a hit refreshes the record only if it names the entry the hit found, and adds
// one only for an entry that has not retired (checked under the tracker's mutex, and the
// releases part marks an entry retired before it forgets the entry's record). So a hit
// that races with an eviction can never make the record point at the evicted entry and
// leave its replacement untracked, i.e. beyond the budget's reach.
//
// Thread safety: every member is thread safe (one mutex per cache; a budgeted cache
// pays one uncontended lock per hit).
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "cache/entries.h"
#include "memo/key.h"

namespace memo::detail {

class RecencyTracker {
 public:
  void inserted(const Key& key, const ValueEntry& entry);
  void hit(const Key& key, const ValueEntry& entry);
  void forget(const Key& key, const ValueEntry& entry);

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
  void touch_locked(std::list<Use>::iterator use, const Entry* entry);

  mutable std::mutex mu_;
  std::list<Use> order_;                                               // guarded; front = newest
  std::unordered_map<Key, std::list<Use>::iterator, KeyHash> where_;  // guarded
};

// Bytes of evictable entries across the process, and the process budget (0 = none).
struct ProcessBytes {
  static std::atomic<std::int64_t>& held();
  static std::atomic<std::size_t>& budget();
};

}  // namespace memo::detail
