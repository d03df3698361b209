// Statistics per cached function, and summed over all of them; readable any time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace memo {

struct CacheStats {
  std::string name;
  std::uint64_t hits = 0;          // served from the store
  std::uint64_t misses = 0;        // the function ran
  std::uint64_t coalesced = 0;     // waited for another caller's run of the same key
  std::uint64_t evictions = 0;     // removed for max_entries
  std::uint64_t expirations = 0;   // removed for ttl
  std::uint64_t invalidations = 0; // removed because validate said false (or threw)
  std::uint64_t releases = 0;      // on_release calls
  std::uint64_t release_errors = 0;// on_release calls that threw
  std::uint64_t disk_hits = 0;     // misses in memory served from a persisted file
  std::int64_t entries = 0;        // stored now
  std::int64_t bytes = 0;          // payload bytes stored now (cache_data: serialized size)

  CacheStats& operator+=(const CacheStats& other);
};

// Every live cache, by kind; and their sums.
std::vector<CacheStats> all_cache_stats();
CacheStats cache_data_stats();
CacheStats cache_resource_stats();
CacheStats global_stats();

}  // namespace memo
