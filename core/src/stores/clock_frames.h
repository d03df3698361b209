// ClockFrames: the capacity ledger and CLOCK ring shared by the unordered engines
// (tbb_map, cds_map). Internal to the memo library; not installed.
//
// Why a ledger beside the map: neither oneTBB's concurrent_hash_map nor libcds's
// FeldmanHashSet can be sampled or swept while other threads write, so an eviction
// policy needs its own view of what is stored. ClockFrames is an array of
// `capacity` frames; every entry in a bounded map owns exactly one frame for as long
// as it is stored, so the bound is structural: no frame, no insert.
//
// Ownership of a frame (each frame has exactly one owner at a time):
//   free stack --take_free()--> an inserter --its entry goes in--> that entry
//   that entry --removed by erase/expiry/clear--> give_back() --> free stack
//   that entry --removed by the CLOCK hand--> the evicting inserter (no trip through
//   the stack: the victim's frame is handed straight to the insert that needed it).
//
// Labels: a frame's label is the key of its owner, written by the inserter before the
// entry enters the map. The hand reads labels without synchronising with their
// writers, so a label may be stale or torn; engines must validate it against the map
// (the entry found for the label must own this very frame) before acting on it. Each
// label word is a separate relaxed atomic: a torn read is harmless, never a data race.
//
// Free stack: a Treiber stack of frame indices threaded through the frames, with a
// 32-bit tag beside the 32-bit top in one 64-bit word against ABA.
//
// Costs: 24 bytes per frame, allocated up front for the full capacity (a store with
// max_entries = 10 million reserves 240 MB of frames even when nearly empty).
// take_free / give_back are one CAS each when uncontended.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>

#include "memo/key.h"

namespace memo::detail {

class ClockFrames {
 public:
  using Index = std::uint32_t;
  static constexpr Index kNone = UINT32_MAX;

  explicit ClockFrames(std::size_t capacity) : capacity_(checked(capacity)) {
    frames_ = std::make_unique<Frame[]>(capacity_);
    // Initially every frame is free, stacked in index order (0 on top).
    for (std::size_t i = 0; i < capacity_; ++i) {
      frames_[i].next_free.store(i + 1 < capacity_ ? static_cast<Index>(i + 2) : 0,
                                 std::memory_order_relaxed);
    }
    free_top_.store(1, std::memory_order_relaxed);
  }

  std::size_t capacity() const { return capacity_; }

  std::optional<Index> take_free() {
    std::uint64_t top = free_top_.load(std::memory_order_acquire);
    for (;;) {
      const auto slot = static_cast<Index>(top);  // index + 1; 0 = empty
      if (slot == 0) return std::nullopt;
      // May read a successor that is stale by now; then the tag differs and CAS fails.
      const Index next = frames_[slot - 1].next_free.load(std::memory_order_relaxed);
      if (free_top_.compare_exchange_weak(top, retag(top, next), std::memory_order_acquire,
                                          std::memory_order_acquire)) {
        return slot - 1;
      }
    }
  }

  void give_back(Index frame) {
    std::uint64_t top = free_top_.load(std::memory_order_relaxed);
    for (;;) {
      frames_[frame].next_free.store(static_cast<Index>(top), std::memory_order_relaxed);
      if (free_top_.compare_exchange_weak(top, retag(top, frame + 1), std::memory_order_release,
                                          std::memory_order_relaxed)) {
        return;
      }
    }
  }

  void label(Index frame, const Key& key) {
    frames_[frame].label_lo.store(key.lo, std::memory_order_relaxed);
    frames_[frame].label_hi.store(key.hi, std::memory_order_relaxed);
  }

  Key label_of(Index frame) const {
    return {frames_[frame].label_lo.load(std::memory_order_relaxed),
            frames_[frame].label_hi.load(std::memory_order_relaxed)};
  }

  // A frame for a new entry: a free one if any, else the CLOCK hand sweeps, offering
  // each frame to `try_evict(frame, label)`. try_evict must remove the frame's owner
  // (validated against the map) and return true, or return false to pass on it
  // (label stale, owner not in the map yet, owner under the caller's own key, or its
  // reference bit was set -- which try_evict clears, giving the entry its second
  // chance). After two laps' worth of visits without a victim it gives up and returns
  // nullopt: every frame is in flux (owners mid-insert or mid-removal) or holds the
  // caller's own key, which another thread may just have inserted. The caller then
  // looks at its key again, yields, and retries.
  // Never call with an accessor or lock held: try_evict takes the map's locks.
  template <class TryEvict>
  std::optional<Index> acquire(TryEvict&& try_evict) {
    for (std::size_t visited = 0; visited < 2 * capacity_; ++visited) {
      if (auto frame = take_free()) return frame;
      const auto frame = static_cast<Index>(hand_.fetch_add(1, std::memory_order_relaxed) %
                                            capacity_);
      if (try_evict(frame, label_of(frame))) return frame;
    }
    return take_free();
  }

 private:
  struct Frame {
    std::atomic<std::uint64_t> label_lo{0};
    std::atomic<std::uint64_t> label_hi{0};
    std::atomic<Index> next_free{0};  // index + 1 of the next free frame; 0 = none
  };

  static std::size_t checked(std::size_t capacity) {
    if (capacity == 0 || capacity >= kNone) {
      throw std::length_error("memo: max_entries must be between 1 and 2^32 - 2 for this store");
    }
    return capacity;
  }

  static std::uint64_t retag(std::uint64_t old_top, Index new_slot) {
    return (((old_top >> 32) + 1) << 32) | new_slot;
  }

  const std::size_t capacity_;
  std::unique_ptr<Frame[]> frames_;
  std::atomic<std::uint64_t> free_top_{0};  // tag << 32 | (index + 1)
  std::atomic<std::uint64_t> hand_{0};
};

}  // namespace memo::detail
