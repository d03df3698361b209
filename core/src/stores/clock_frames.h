// ClockFrames: the capacity ledger and CLOCK ring shared by the unordered engines
// (tbb_map, cds_map). Internal to the memo library; not installed.
//
// Why a ledger beside the map: neither oneTBB's concurrent_hash_map nor libcds's
// FeldmanHashSet can be sampled or swept while other threads write, so an eviction
// policy needs its own view of what is stored. ClockFrames numbers up to `capacity`
// frames; every entry in a bounded map owns exactly one frame for as long as it is
// stored, so the bound is structural: no frame, no insert.
//
// Ownership of a frame (each frame has exactly one owner at a time):
//   never used --take_free()--> an inserter (only while the free stack is empty)
//   free stack --take_free()--> an inserter --its entry goes in--> that entry
//   that entry --removed by erase/expiry/clear--> give_back() --> free stack
//   that entry --removed by the CLOCK hand--> the evicting inserter (no trip through
//   the stack: the victim's frame is handed straight to the insert that needed it).
//
// Lazy growth: frames live in chunks of 64, 128, 256, ... frames (the last one cut to
// `capacity`), allocated when the first frame in them is taken, so a store holding a
// few entries costs a few chunks whatever its max_entries. A frame that was given back
// is reused before a never-used one is taken, so the frames in use stay within the
// largest number of entries held at once (plus inserts in flight), and the memory
// within twice that. Chunks are freed with the store. A chunk is installed with one CAS
// into a fixed directory; racing first users each allocate, one wins and the others
// free theirs, so taking a frame stays lock-free. A chunk's allocation happens before
// its first frame is claimed, so std::bad_alloc leaves the ledger unchanged.
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
// Costs: a 27-pointer chunk directory per store, plus 24 bytes per frame for at most
// twice the largest number of entries held at once (64 frames at least, max_entries
// at most). take_free / give_back are one CAS each when uncontended; the first take
// in a chunk also allocates it.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <optional>
#include <stdexcept>

#include "memo/key.h"

namespace memo::detail {

class ClockFrames {
 public:
  using Index = std::uint32_t;
  static constexpr Index kNone = UINT32_MAX;

  explicit ClockFrames(std::size_t capacity) : capacity_(checked(capacity)) {}
  ~ClockFrames() {
    for (auto& chunk : chunks_) delete[] chunk.load(std::memory_order_relaxed);
  }
  ClockFrames(const ClockFrames&) = delete;
  ClockFrames& operator=(const ClockFrames&) = delete;

  std::size_t capacity() const { return capacity_; }

  // A frame nobody owns: a given-back one if any, else a never-used one (allocating
  // its chunk on first use), else nullopt (all `capacity` frames are owned).
  std::optional<Index> take_free() {
    if (auto frame = pop_free()) return frame;
    return take_never_used();
  }

  void give_back(Index frame) {
    std::uint64_t top = free_top_.load(std::memory_order_relaxed);
    for (;;) {
      at(frame).next_free.store(static_cast<Index>(top), std::memory_order_relaxed);
      if (free_top_.compare_exchange_weak(top, retag(top, frame + 1), std::memory_order_release,
                                          std::memory_order_relaxed)) {
        return;
      }
    }
  }

  void label(Index frame, const Key& key) {
    Frame& f = at(frame);
    f.label_lo.store(key.lo, std::memory_order_relaxed);
    f.label_hi.store(key.hi, std::memory_order_relaxed);
  }

  Key label_of(Index frame) const {
    const Frame& f = at(frame);
    return {f.label_lo.load(std::memory_order_relaxed), f.label_hi.load(std::memory_order_relaxed)};
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
      // take_free failed, so every frame has been used once (never_used_ only grows
      // and has reached capacity_): all chunks exist and the whole ring is sweepable.
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

  // Chunk c holds frames [kFirstChunk * (2^c - 1), kFirstChunk * (2^(c+1) - 1)).
  static constexpr std::size_t kFirstChunk = 64;
  static constexpr std::size_t kChunks = 27;  // enough for 2^32 - 2 frames
  static_assert(kFirstChunk * ((std::uint64_t{1} << kChunks) - 1) >= kNone);

  struct Place {
    std::size_t chunk;
    std::size_t offset;
  };

  static Place place_of(std::uint64_t frame) {
    const std::uint64_t block = frame / kFirstChunk + 1;
    const auto chunk = static_cast<std::size_t>(std::bit_width(block) - 1);
    return {chunk, static_cast<std::size_t>(frame - kFirstChunk * ((std::uint64_t{1} << chunk) - 1))};
  }

  static std::size_t checked(std::size_t capacity) {
    if (capacity == 0 || capacity >= kNone) {
      throw std::length_error("memo: max_entries must be between 1 and 2^32 - 2 for this store");
    }
    return capacity;
  }

  static std::uint64_t retag(std::uint64_t old_top, Index new_slot) {
    return (((old_top >> 32) + 1) << 32) | new_slot;
  }

  // Only for frames that were taken at least once: their chunk is installed, and the
  // caller learned the index through an acquire that follows the install.
  Frame& at(Index frame) const {
    const Place place = place_of(frame);
    return chunks_[place.chunk].load(std::memory_order_acquire)[place.offset];
  }

  std::optional<Index> pop_free() {
    std::uint64_t top = free_top_.load(std::memory_order_acquire);
    for (;;) {
      const auto slot = static_cast<Index>(top);  // index + 1; 0 = empty
      if (slot == 0) return std::nullopt;
      // May read a successor that is stale by now; then the tag differs and CAS fails.
      const Index next = at(slot - 1).next_free.load(std::memory_order_relaxed);
      if (free_top_.compare_exchange_weak(top, retag(top, next), std::memory_order_acquire,
                                          std::memory_order_acquire)) {
        return slot - 1;
      }
    }
  }

  std::optional<Index> take_never_used() {
    std::uint64_t next = never_used_.load(std::memory_order_acquire);
    while (next < capacity_) {
      install_chunk_for(next);  // before claiming, so bad_alloc claims nothing
      if (never_used_.compare_exchange_weak(next, next + 1, std::memory_order_acq_rel,
                                            std::memory_order_acquire)) {
        return static_cast<Index>(next);
      }
    }
    return std::nullopt;
  }

  void install_chunk_for(std::uint64_t frame) {
    const std::size_t chunk = place_of(frame).chunk;
    if (chunks_[chunk].load(std::memory_order_acquire) != nullptr) return;
    const std::uint64_t first = kFirstChunk * ((std::uint64_t{1} << chunk) - 1);
    const std::uint64_t size = std::min<std::uint64_t>(kFirstChunk << chunk, capacity_ - first);
    Frame* fresh = new Frame[size];
    Frame* expected = nullptr;
    if (!chunks_[chunk].compare_exchange_strong(expected, fresh, std::memory_order_acq_rel,
                                                std::memory_order_acquire)) {
      delete[] fresh;  // another thread installed it first
    }
  }

  const std::size_t capacity_;
  std::array<std::atomic<Frame*>, kChunks> chunks_{};
  std::atomic<std::uint64_t> never_used_{0};  // frames [0, never_used_) have been taken
  std::atomic<std::uint64_t> free_top_{0};    // tag << 32 | (index + 1)
  std::atomic<std::uint64_t> hand_{0};
};

}  // namespace memo::detail
