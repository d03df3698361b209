// The registry: cache identity -> the cache, for the life of the process.
//
// Caches are never destroyed (Streamlit's caches live for the process too), so a
// pointer to one stays valid forever and nothing in the registry can drop the last
// reference to a cache -- and run its entries' callbacks -- under the registry's mutex.
// The mutex guards only the map and the lists; no cache is made, cleared or called
// under it. all() and session_scoped() hand out snapshots to work on after it is let go.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "memo/untyped_cache.h"

namespace memo::detail {

class CacheCore;

class Registry {
 public:
  // The cache of settings.identity; `make` builds one (outside the mutex) if there is
  // none. With two racing first declarations, one cache wins and the other is dropped
  // before anyone saw it. An existing cache takes `callbacks` (the newest declaration's).
  static CacheCore& open(const CacheSettings& settings, CacheCallbacks callbacks,
                         const std::function<std::unique_ptr<CacheCore>()>& make);
  static std::vector<CacheCore*> all();
  static std::vector<CacheCore*> session_scoped();
};

}  // namespace memo::detail
