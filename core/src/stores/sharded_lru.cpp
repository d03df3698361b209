#include "memo/stores/sharded_lru.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace memo {
namespace {

// Recency links embedded in the map node: one allocation per entry. unordered_map
// nodes never move (rehash relinks them), so the links stay valid.
struct Links {
  Links* newer = nullptr;
  Links* older = nullptr;
};

struct Slot : Links {
  EntryPtr entry;
  const Key* key = nullptr;  // the map node's own key, for reporting from the list
};

// One exact LRU. The sentinel's `older` is the least recently used slot, its `newer`
// the most recently used.
class alignas(64) Shard {
 public:
  void set_capacity(std::size_t capacity) { capacity_ = capacity; }

  EntryPtr find(const Key& key, Clock::time_point now, RemovedList& removed) {
    std::lock_guard lock(mu_);
    auto found = index_.find(key);
    if (found == index_.end()) return nullptr;
    Slot& slot = found->second;
    if (slot.entry->expired(now)) {
      remove_locked(found, RemovalCause::expired, removed);
      return nullptr;
    }
    move_to_front(slot);
    return slot.entry;
  }

  EntryPtr insert(const Key& key, EntryPtr entry, Clock::time_point now, RemovedList& removed) {
    std::lock_guard lock(mu_);
    auto [it, inserted] = index_.try_emplace(key);
    Slot& slot = it->second;
    if (!inserted) {
      if (!slot.entry->expired(now)) {
        move_to_front(slot);
        return slot.entry;
      }
      removed.push_back({key, std::move(slot.entry), RemovalCause::expired});
      unlink(slot);
    }
    slot.entry = entry;
    slot.key = &it->first;
    link_front(slot);
    while (capacity_ != 0 && index_.size() > capacity_) {
      auto oldest = index_.find(*static_cast<Slot*>(sentinel_.older)->key);
      remove_locked(oldest, RemovalCause::evicted, removed);
    }
    published_size_.store(index_.size(), std::memory_order_relaxed);
    return entry;
  }

  bool erase(const Key& key, const Entry* expected, RemovalCause cause, RemovedList& removed) {
    std::lock_guard lock(mu_);
    auto found = index_.find(key);
    if (found == index_.end()) return false;
    if (expected != nullptr && found->second.entry.get() != expected) return false;
    remove_locked(found, cause, removed);
    return true;
  }

  void clear(RemovedList& removed) {
    std::lock_guard lock(mu_);
    for (auto& [key, slot] : index_) {
      removed.push_back({key, std::move(slot.entry), RemovalCause::cleared});
    }
    index_.clear();
    sentinel_ = Links{&sentinel_, &sentinel_};
    published_size_.store(0, std::memory_order_relaxed);
  }

  std::size_t size() const { return published_size_.load(std::memory_order_relaxed); }

 private:
  using Index = std::unordered_map<Key, Slot, KeyHash>;

  void remove_locked(Index::iterator it, RemovalCause cause, RemovedList& removed) {
    removed.push_back({it->first, std::move(it->second.entry), cause});
    unlink(it->second);
    index_.erase(it);
    published_size_.store(index_.size(), std::memory_order_relaxed);
  }

  void unlink(Links& slot) {
    slot.older->newer = slot.newer;
    slot.newer->older = slot.older;
  }

  void link_front(Links& slot) {
    slot.older = &sentinel_;
    slot.newer = sentinel_.newer;
    sentinel_.newer->older = &slot;
    sentinel_.newer = &slot;
  }

  void move_to_front(Links& slot) {
    if (sentinel_.newer == &slot) return;
    unlink(slot);
    link_front(slot);
  }

  std::mutex mu_;
  Index index_;                                // guarded by mu_
  Links sentinel_{&sentinel_, &sentinel_};     // guarded by mu_
  std::size_t capacity_ = 0;                   // 0 = unbounded; fixed after construction
  // Written under mu_ only after the shard is back within capacity, so readers of
  // size() never see more than capacity_.
  std::atomic<std::size_t> published_size_{0};
};

// Both digest words go through a 64-bit finaliser (from MurmurHash3's fmix64), so the
// shard choice is independent of the bits the shard's own map uses (Key::lo).
std::size_t shard_hash(const Key& key) {
  std::uint64_t h = key.lo ^ (key.hi * 0x9e3779b97f4a7c15ULL);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return static_cast<std::size_t>(h);
}

class ShardedLruStore final : public Store {
 public:
  explicit ShardedLruStore(const StoreConfig& config)
      : shards_(sharded_lru_shard_count(config)) {
    const std::size_t count = shards_.size();
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t base = config.max_entries / count;
      const std::size_t extra = i < config.max_entries % count ? 1 : 0;
      shards_[i].set_capacity(base + extra);
    }
  }

  EntryPtr find(const Key& key, Clock::time_point now, RemovedList& removed) override {
    return shard_for(key).find(key, now, removed);
  }
  EntryPtr insert(const Key& key, EntryPtr entry, Clock::time_point now,
                  RemovedList& removed) override {
    return shard_for(key).insert(key, std::move(entry), now, removed);
  }
  bool erase(const Key& key, const Entry* expected, RemovalCause cause,
             RemovedList& removed) override {
    return shard_for(key).erase(key, expected, cause, removed);
  }
  void clear(RemovedList& removed) override {
    for (auto& shard : shards_) shard.clear(removed);
  }
  std::size_t size() const override {
    std::size_t total = 0;
    for (const auto& shard : shards_) total += shard.size();
    return total;
  }
  std::string_view name() const override { return "sharded_lru"; }

 private:
  Shard& shard_for(const Key& key) {
    // Multiply-shift maps the hash onto [0, N) for any N, not only powers of two.
    const auto wide = static_cast<unsigned __int128>(shard_hash(key)) * shards_.size();
    return shards_[static_cast<std::size_t>(wide >> 64)];
  }

  std::vector<Shard> shards_;
};

}  // namespace

std::size_t sharded_lru_shard_count(const StoreConfig& config) {
  std::size_t count = config.shards;
  if (count == 0) {
    const std::size_t threads = std::max<std::size_t>(1, std::thread::hardware_concurrency());
    count = std::bit_ceil(std::max<std::size_t>(16, 4 * threads));
  }
  if (config.max_entries != 0) count = std::min(count, config.max_entries);
  return count;
}

std::unique_ptr<Store> make_sharded_lru_store(const StoreConfig& config) {
  return std::make_unique<ShardedLruStore>(config);
}

}  // namespace memo
