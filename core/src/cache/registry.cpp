#include "cache/registry.h"

#include <mutex>
#include <unordered_map>

#include "cache/cache_core.h"

namespace memo::detail {
namespace {

struct Caches {
  std::mutex mu;
  std::unordered_map<Key, std::unique_ptr<CacheCore>, KeyHash> by_identity;  // guarded by mu
  std::vector<CacheCore*> in_order;                                           // guarded by mu
  std::vector<CacheCore*> session_scoped;                                     // guarded by mu
};

Caches& caches() {
  static Caches* instance = new Caches();  // never destroyed: caches live for the process
  return *instance;
}

CacheCore* find_locked(Caches& c, const Key& identity) {
  auto found = c.by_identity.find(identity);
  return found == c.by_identity.end() ? nullptr : found->second.get();
}

}  // namespace

CacheCore& Registry::open(const CacheSettings& settings, CacheCallbacks callbacks,
                          const std::function<std::unique_ptr<CacheCore>()>& make) {
  Caches& c = caches();
  CacheCore* existing = nullptr;
  {
    std::lock_guard lock(c.mu);
    existing = find_locked(c, settings.identity);
  }
  if (existing != nullptr) {
    existing->adopt(std::move(callbacks));
    return *existing;
  }
  std::unique_ptr<CacheCore> made = make();  // may throw (unknown store, bad ttl)
  std::unique_ptr<CacheCore> lost;           // a racing declaration's, dropped unlocked
  CacheCore* winner = nullptr;
  {
    std::lock_guard lock(c.mu);
    winner = find_locked(c, settings.identity);
    if (winner == nullptr) {
      winner = made.get();
      c.in_order.push_back(winner);
      if (settings.scope == Scope::session) c.session_scoped.push_back(winner);
      c.by_identity.emplace(settings.identity, std::move(made));
    } else {
      lost = std::move(made);
    }
  }
  if (lost) winner->adopt(std::move(callbacks));
  return *winner;
}

std::vector<CacheCore*> Registry::all() {
  std::lock_guard lock(caches().mu);
  return caches().in_order;
}

std::vector<CacheCore*> Registry::session_scoped() {
  std::lock_guard lock(caches().mu);
  return caches().session_scoped;
}

}  // namespace memo::detail
