#include "memo/stores/sharded_lru.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "adaptive_mutex.h"

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

// One exact LRU, without a capacity of its own: the store's global count decides when
// to evict (see ShardedLruStore::insert). The sentinel's `older` is the least recently
// used slot, its `newer` the most recently used. Every member is guarded by the shard's
// mutex, which the store takes through lock() around the *_locked calls.
class alignas(64) Shard {
 public:
  std::unique_lock<detail::AdaptiveMutex> lock() { return std::unique_lock(mu_); }

  // The slot for `key`, or null.
  Slot* find_locked(const Key& key) {
    auto found = index_.find(key);
    return found == index_.end() ? nullptr : &found->second;
  }

  void use_locked(Slot& slot) { move_to_front(slot); }

  // Links a new slot for `key` (absent from the shard) as the most recently used.
  EntryPtr add_locked(const Key& key, EntryPtr entry) {
    auto [it, inserted] = index_.try_emplace(key);
    Slot& slot = it->second;
    slot.entry = std::move(entry);
    slot.key = &it->first;
    link_front(slot);
    return slot.entry;
  }

  // Puts `entry` in place of the expired one in `slot` (keeps its count) and reports it.
  EntryPtr replace_expired_locked(Slot& slot, EntryPtr entry, RemovedList& removed) {
    removed.push_back({*slot.key, std::exchange(slot.entry, std::move(entry)), RemovalCause::expired});
    move_to_front(slot);
    return slot.entry;
  }

  void remove_locked(Slot& slot, RemovalCause cause, RemovedList& removed) {
    removed.push_back({*slot.key, std::move(slot.entry), cause});
    unlink(slot);
    index_.erase(index_.find(*slot.key));  // not erase(key): the key lives in the node
  }

  // Removes the least recently used entry (reported as evicted); false when empty.
  bool evict_oldest_locked(RemovedList& removed) {
    if (sentinel_.older == &sentinel_) return false;
    remove_locked(*static_cast<Slot*>(sentinel_.older), RemovalCause::evicted, removed);
    return true;
  }

  // Removes every entry (reported as cleared); returns how many.
  std::size_t clear_locked(RemovedList& removed) {
    const std::size_t count = index_.size();
    for (auto& [key, slot] : index_) {
      removed.push_back({key, std::move(slot.entry), RemovalCause::cleared});
    }
    index_.clear();
    sentinel_ = Links{&sentinel_, &sentinel_};
    return count;
  }

 private:
  using Index = std::unordered_map<Key, Slot, KeyHash>;

  static void unlink(Links& slot) {
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

  detail::AdaptiveMutex mu_;
  Index index_;                             // guarded by mu_
  Links sentinel_{&sentinel_, &sentinel_};  // guarded by mu_
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
      : shards_(sharded_lru_shard_count(config)), max_entries_(config.max_entries) {}

  EntryPtr find(const Key& key, Clock::time_point now, RemovedList& removed) override {
    Shard& shard = shard_for(key);
    auto lock = shard.lock();
    Slot* slot = shard.find_locked(key);
    if (slot == nullptr) return nullptr;
    if (slot->entry->expired(now)) {
      shard.remove_locked(*slot, RemovalCause::expired, removed);
      entries_.fetch_sub(1, std::memory_order_relaxed);
      return nullptr;
    }
    shard.use_locked(*slot);
    return slot->entry;
  }

  EntryPtr insert(const Key& key, EntryPtr entry, Clock::time_point now,
                  RemovedList& removed) override {
    Shard& shard = shard_for(key);
    // Set when another shard evicted for us: its entry's place in the count is ours.
    bool holds_place = false;
    for (;;) {
      {
        auto lock = shard.lock();
        if (Slot* slot = shard.find_locked(key)) {
          if (holds_place) entries_.fetch_sub(1, std::memory_order_relaxed);
          if (!slot->entry->expired(now)) {
            shard.use_locked(*slot);
            return slot->entry;
          }
          return shard.replace_expired_locked(*slot, std::move(entry), removed);
        }
        if (holds_place || reserve_one()) return shard.add_locked(key, std::move(entry));
        // Full: the key's own shard gives up its least recently used entry, and the
        // new one takes its place in the count.
        if (shard.evict_oldest_locked(removed)) return shard.add_locked(key, std::move(entry));
      }
      // Full, and the key's shard holds nothing: another shard makes room, never while
      // we hold a shard lock (two shard locks at once could deadlock). The place it
      // frees passes straight to us, so no other insert can take it meanwhile.
      holds_place = evict_from_another_shard(shard, removed);
      if (!holds_place) std::this_thread::yield();
    }
  }

  bool erase(const Key& key, const Entry* expected, RemovalCause cause,
             RemovedList& removed) override {
    Shard& shard = shard_for(key);
    auto lock = shard.lock();
    Slot* slot = shard.find_locked(key);
    if (slot == nullptr) return false;
    if (expected != nullptr && slot->entry.get() != expected) return false;
    shard.remove_locked(*slot, cause, removed);
    entries_.fetch_sub(1, std::memory_order_relaxed);
    return true;
  }

  void clear(RemovedList& removed) override {
    for (auto& shard : shards_) {
      auto lock = shard.lock();
      entries_.fetch_sub(shard.clear_locked(removed), std::memory_order_relaxed);
    }
  }

  std::size_t size() const override { return entries_.load(std::memory_order_relaxed); }
  std::string_view name() const override { return "sharded_lru"; }

 private:
  Shard& shard_for(const Key& key) {
    // Multiply-shift maps the hash onto [0, N) for any N, not only powers of two.
    const auto wide = static_cast<unsigned __int128>(shard_hash(key)) * shards_.size();
    return shards_[static_cast<std::size_t>(wide >> 64)];
  }

  // Counts one more entry if the store has room for it.
  bool reserve_one() {
    if (max_entries_ == 0) {
      entries_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    std::size_t count = entries_.load(std::memory_order_relaxed);
    while (count < max_entries_) {
      if (entries_.compare_exchange_weak(count, count + 1, std::memory_order_relaxed)) return true;
    }
    return false;
  }

  // Evicts the least recently used entry of the first non-empty shard other than
  // `home`, starting from a rotating position so that steals spread over the shards.
  // The evicted entry stays counted: its place passes to the caller. False if it found
  // none (every other shard empty: the count is held by inserts and removals in flight).
  bool evict_from_another_shard(const Shard& home, RemovedList& removed) {
    const std::size_t count = shards_.size();
    const std::size_t start = steal_cursor_.fetch_add(1, std::memory_order_relaxed);
    for (std::size_t i = 0; i < count; ++i) {
      Shard& shard = shards_[(start + i) % count];
      if (&shard == &home) continue;
      auto lock = shard.lock();
      if (shard.evict_oldest_locked(removed)) return true;
    }
    return false;
  }

  std::vector<Shard> shards_;
  const std::size_t max_entries_;  // 0 = unbounded
  // Entries in all shards, plus places held by inserts in flight. Counted (under the
  // shard lock) before an entry is linked and uncounted after it is unlinked, and never
  // counted past max_entries_, so size() never exceeds the bound, not even between two
  // operations.
  alignas(64) std::atomic<std::size_t> entries_{0};
  std::atomic<std::size_t> steal_cursor_{0};
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
