#include "memo/stats.h"

#include "cache/cache_core.h"
#include "cache/registry.h"

namespace memo {
namespace {

CacheStats sum(CacheKind kind, const char* name) {
  CacheStats total;
  total.name = name;
  for (const auto* cache : detail::Registry::all()) {
    if (cache->settings().kind == kind) total += cache->stats();
  }
  return total;
}

}  // namespace

CacheStats& CacheStats::operator+=(const CacheStats& other) {
  hits += other.hits;
  misses += other.misses;
  coalesced += other.coalesced;
  evictions += other.evictions;
  expirations += other.expirations;
  invalidations += other.invalidations;
  releases += other.releases;
  release_errors += other.release_errors;
  disk_hits += other.disk_hits;
  entries += other.entries;
  bytes += other.bytes;
  return *this;
}

std::vector<CacheStats> all_cache_stats() {
  std::vector<CacheStats> all;
  for (const auto* cache : detail::Registry::all()) all.push_back(cache->stats());
  return all;
}

CacheStats cache_data_stats() { return sum(CacheKind::data, "cache_data"); }
CacheStats cache_resource_stats() { return sum(CacheKind::resource, "cache_resource"); }

CacheStats global_stats() {
  CacheStats total = cache_data_stats();
  total += cache_resource_stats();
  total.name = "all";
  return total;
}

}  // namespace memo
