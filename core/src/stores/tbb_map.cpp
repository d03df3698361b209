#include "memo/stores/tbb_map.h"

#include <oneapi/tbb/concurrent_hash_map.h>

#include <atomic>
#include <optional>
#include <thread>
#include <utility>

#include "clear_gate.h"
#include "clock_frames.h"

namespace memo {
namespace {

using detail::ClearGate;
using detail::ClockFrames;

struct Slot {
  EntryPtr entry;
  ClockFrames::Index frame = ClockFrames::kNone;
  // Written under a reader lock by find, hence atomic.
  mutable std::atomic<bool> referenced{false};

  void touch() const {
    // Read first: a hot entry's bit is already set, and skipping the store keeps its
    // cache line shared between readers.
    if (!referenced.load(std::memory_order_relaxed)) {
      referenced.store(true, std::memory_order_relaxed);
    }
  }
};

// Key::lo is already a well-mixed digest word (key.h), so it is the bucket hash.
struct KeyHashCompare {
  std::size_t hash(const Key& key) const { return KeyHash{}(key); }
  bool equal(const Key& a, const Key& b) const { return a == b; }
};

// Under the sanitizers the map allocates with std::allocator. TBB's scalable allocator
// is not instrumented and takes its memory with mmap: ThreadSanitizer would take its
// reuse of a freed node's memory for a race with the node's last reader, and
// LeakSanitizer, which does not scan mapped memory, would report every entry a node
// holds as leaked. Other builds keep TBB's default.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define MEMO_TBB_MAP_ALLOCATOR std::allocator<std::pair<const Key, Slot>>
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define MEMO_TBB_MAP_ALLOCATOR std::allocator<std::pair<const Key, Slot>>
#endif
#endif
#ifndef MEMO_TBB_MAP_ALLOCATOR
#define MEMO_TBB_MAP_ALLOCATOR tbb::tbb_allocator<std::pair<const Key, Slot>>
#endif

using Map = tbb::concurrent_hash_map<Key, Slot, KeyHashCompare, MEMO_TBB_MAP_ALLOCATOR>;

class TbbMapStore final : public Store {
 public:
  explicit TbbMapStore(const StoreConfig& config) {
    if (config.max_entries != 0) frames_.emplace(config.max_entries);
  }

  EntryPtr find(const Key& key, Clock::time_point now, RemovedList& removed) override {
    ClearGate::Shared in(gate_);
    EntryPtr expired;
    {
      Map::const_accessor reader;
      if (!map_.find(reader, key)) return nullptr;
      const Slot& slot = reader->second;
      if (!slot.entry->expired(now)) {
        slot.touch();
        return slot.entry;
      }
      expired = slot.entry;
    }
    // Retaken as a writer only after the reader lock is gone. Comparing with `expired`
    // keeps a replacement that went in meanwhile; holding it (not just its address)
    // keeps its address from being reused by that replacement.
    remove(key, expired.get(), RemovalCause::expired, removed);
    return nullptr;
  }

  EntryPtr insert(const Key& key, EntryPtr entry, Clock::time_point now,
                  RemovedList& removed) override {
    ClearGate::Shared in(gate_);
    ClockFrames::Index frame = ClockFrames::kNone;
    for (;;) {
      EntryPtr expired;
      {  // A live entry wins without touching the frames.
        Map::const_accessor reader;
        if (map_.find(reader, key)) {
          if (!reader->second.entry->expired(now)) {
            reader->second.touch();
            return reader->second.entry;
          }
          expired = reader->second.entry;
        }
      }
      // An expired entry goes first, so that its frame is free for us (in a store of
      // one frame there is no other).
      if (expired) remove(key, expired.get(), RemovalCause::expired, removed);
      if (!frames_) break;
      // Evicting takes accessors on other keys, so it happens before we hold ours.
      // It never evicts our own key: a racing insert of it would otherwise see its
      // winner evicted by a loser.
      auto acquired = frames_->acquire([&](ClockFrames::Index candidate, const Key& label) {
        return !(label == key) && try_evict(candidate, label, removed);
      });
      if (acquired) {
        frame = *acquired;
        frames_->label(frame, key);
        break;
      }
      std::this_thread::yield();  // every frame in flux: let their owners finish
    }
    ClockFrames::Index unused_frame = frame;
    EntryPtr stored;
    {
      Map::accessor writer;
      entries_.fetch_add(1, std::memory_order_relaxed);
      if (map_.insert(writer, key)) {
        writer->second.entry = entry;
        writer->second.frame = frame;
        unused_frame = ClockFrames::kNone;
        stored = std::move(entry);
      } else if (!writer->second.entry->expired(now)) {
        entries_.fetch_sub(1, std::memory_order_relaxed);
        writer->second.touch();
        stored = writer->second.entry;
      } else {
        // Replace in place: we hold the only writer lock, so this report is the only one.
        entries_.fetch_sub(1, std::memory_order_relaxed);
        Slot& slot = writer->second;
        removed.push_back({key, std::exchange(slot.entry, entry), RemovalCause::expired});
        unused_frame = std::exchange(slot.frame, frame);
        slot.referenced.store(false, std::memory_order_relaxed);
        stored = std::move(entry);
      }
    }
    if (unused_frame != ClockFrames::kNone) frames_->give_back(unused_frame);
    return stored;
  }

  bool erase(const Key& key, const Entry* expected, RemovalCause cause,
             RemovedList& removed) override {
    ClearGate::Shared in(gate_);
    return remove(key, expected, cause, removed);
  }

  void clear(RemovedList& removed) override {
    ClearGate::Exclusive alone(gate_);
    std::size_t cleared = 0;
    for (auto& [key, slot] : map_) {
      removed.push_back({key, std::move(slot.entry), RemovalCause::cleared});
      if (frames_) frames_->give_back(slot.frame);
      ++cleared;
    }
    entries_.fetch_sub(cleared, std::memory_order_relaxed);
    map_.clear();
  }

  std::size_t size() const override { return entries_.load(std::memory_order_relaxed); }
  std::string_view name() const override { return "tbb_map"; }

 private:
  // Removes the element under `key` if it holds `expected` (any entry when null).
  bool remove(const Key& key, const Entry* expected, RemovalCause cause, RemovedList& removed) {
    ClockFrames::Index freed = ClockFrames::kNone;
    {
      Map::accessor writer;
      if (!map_.find(writer, key)) return false;
      if (expected != nullptr && writer->second.entry.get() != expected) return false;
      EntryPtr leaving = writer->second.entry;
      freed = writer->second.frame;
      if (!map_.erase(writer)) return false;
      entries_.fetch_sub(1, std::memory_order_relaxed);
      removed.push_back({key, std::move(leaving), cause});
    }
    if (frames_) frames_->give_back(freed);
    return true;
  }

  // Offered frame `frame`, labelled `label`, by the CLOCK hand. On success the
  // victim is reported and its frame passes to the caller (not back to the stack).
  bool try_evict(ClockFrames::Index frame, const Key& label, RemovedList& removed) {
    Map::accessor writer;
    if (!map_.find(writer, label) || writer->second.frame != frame) return false;
    if (writer->second.referenced.load(std::memory_order_relaxed)) {
      writer->second.referenced.store(false, std::memory_order_relaxed);
      return false;
    }
    EntryPtr victim = writer->second.entry;
    if (!map_.erase(writer)) return false;
    entries_.fetch_sub(1, std::memory_order_relaxed);
    removed.push_back({label, std::move(victim), RemovalCause::evicted});
    return true;
  }

  ClearGate gate_;
  std::optional<ClockFrames> frames_;  // empty when unbounded
  Map map_;
  // Counted before an element goes in and uncounted after it is out, so it never
  // exceeds the frames in use (hence max_entries).
  std::atomic<std::size_t> entries_{0};
};

}  // namespace

std::unique_ptr<Store> make_tbb_map_store(const StoreConfig& config) {
  return std::make_unique<TbbMapStore>(config);
}

}  // namespace memo
