#include "memo/stores/mutex_map.h"

#include <list>
#include <mutex>
#include <unordered_map>

#include "adaptive_mutex.h"

namespace memo {
namespace {

class MutexMapStore final : public Store {
 public:
  explicit MutexMapStore(const StoreConfig& config) : max_entries_(config.max_entries) {}

  EntryPtr find(const Key& key, Clock::time_point now, RemovedList& removed) override;
  EntryPtr insert(const Key& key, EntryPtr entry, Clock::time_point now,
                  RemovedList& removed) override;
  bool erase(const Key& key, const Entry* expected, RemovalCause cause,
             RemovedList& removed) override;
  void clear(RemovedList& removed) override;
  std::size_t size() const override;
  std::string_view name() const override { return "mutex_map"; }

 private:
  struct Slot {
    Key key;
    EntryPtr entry;
  };
  using Recency = std::list<Slot>;  // front = most recently used

  void remove_locked(Recency::iterator it, RemovalCause cause, RemovedList& removed);

  const std::size_t max_entries_;
  mutable detail::AdaptiveMutex mu_;
  Recency recency_;                                           // guarded by mu_
  std::unordered_map<Key, Recency::iterator, KeyHash> index_;  // guarded by mu_
};

}  // namespace

void MutexMapStore::remove_locked(Recency::iterator it, RemovalCause cause,
                                  RemovedList& removed) {
  removed.push_back({it->key, std::move(it->entry), cause});
  index_.erase(it->key);
  recency_.erase(it);
}

EntryPtr MutexMapStore::find(const Key& key, Clock::time_point now, RemovedList& removed) {
  std::lock_guard lock(mu_);
  auto found = index_.find(key);
  if (found == index_.end()) return nullptr;
  auto it = found->second;
  if (it->entry->expired(now)) {
    remove_locked(it, RemovalCause::expired, removed);
    return nullptr;
  }
  recency_.splice(recency_.begin(), recency_, it);
  return it->entry;
}

EntryPtr MutexMapStore::insert(const Key& key, EntryPtr entry, Clock::time_point now,
                               RemovedList& removed) {
  std::lock_guard lock(mu_);
  auto found = index_.find(key);
  if (found != index_.end()) {
    auto it = found->second;
    if (!it->entry->expired(now)) {
      recency_.splice(recency_.begin(), recency_, it);
      return it->entry;
    }
    remove_locked(it, RemovalCause::expired, removed);
  }
  recency_.push_front({key, entry});
  index_.emplace(key, recency_.begin());
  while (max_entries_ != 0 && recency_.size() > max_entries_) {
    remove_locked(std::prev(recency_.end()), RemovalCause::evicted, removed);
  }
  return entry;
}

bool MutexMapStore::erase(const Key& key, const Entry* expected, RemovalCause cause,
                          RemovedList& removed) {
  std::lock_guard lock(mu_);
  auto found = index_.find(key);
  if (found == index_.end()) return false;
  if (expected != nullptr && found->second->entry.get() != expected) return false;
  remove_locked(found->second, cause, removed);
  return true;
}

void MutexMapStore::clear(RemovedList& removed) {
  std::lock_guard lock(mu_);
  for (auto& slot : recency_) {
    removed.push_back({slot.key, std::move(slot.entry), RemovalCause::cleared});
  }
  recency_.clear();
  index_.clear();
}

std::size_t MutexMapStore::size() const {
  std::lock_guard lock(mu_);
  return index_.size();
}

std::unique_ptr<Store> make_mutex_map_store(const StoreConfig& config) {
  return std::make_unique<MutexMapStore>(config);
}

}  // namespace memo
