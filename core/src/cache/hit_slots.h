// Hit slots: each thread's small, direct-mapped memory of the entries it hit last.
//
// Why: a hit that goes through a store copies the entry's shared_ptr (an atomic add on a
// count every thread hitting that entry shares) and, for most engines, writes the
// engine's own shared state too. For a hot key on several cores those writes are the
// whole cost. A thread that keeps its own reference to the entry can serve the next hit
// by reading only: the entry's retired flag tells it whether the entry is still the one
// stored, and a resource handle is handed out through a control block that belongs to
// this thread alone.
//
// Contract with the releases part (entries.h): every entry a store reports removed is
// marked retired before the operation that removed it returns, so a slot hit after a
// clear() or erase() that returned can never serve the old entry. A retired entry left
// in some thread's slot keeps its memory until that thread sweeps: every call checks one
// process-wide epoch, bumped when a slotted entry retires, and sweeps on a change.
//
// Only the owning thread touches its slots. Slots hold only entries that were stored.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "cache/entries.h"
#include "memo/key.h"

namespace memo::detail {

struct HitSlot {
  const void* cache = nullptr;
  Key key{};
  std::shared_ptr<const ValueEntry> entry;
  // A thread-private owner of `entry`. A hit holds it (not the entry) while it runs user
  // code, and a resource handle is made through it, so both write this thread's control
  // block and never the entry's, which every thread hitting the entry shares.
  std::shared_ptr<std::shared_ptr<const ValueEntry>> owner;
};

class HitSlots {
 public:
  // This thread's slots, swept if a slotted entry retired since the last call.
  static HitSlots& mine();

  // The slot holding `key` of `cache` with an entry that has not retired, or null.
  HitSlot* find(const void* cache, const Key& key);
  // Remembers `entry` (stored, not retired) for `key` of `cache`, replacing whatever the
  // slot held.
  HitSlot& fill(const void* cache, const Key& key, std::shared_ptr<const ValueEntry> entry);
  // Called by the releases part after marking `entry` retired.
  static void retired(const ValueEntry& entry);

  HitSlots() = default;
  HitSlots(const HitSlots&) = delete;
  HitSlots& operator=(const HitSlots&) = delete;

 private:
  static constexpr std::size_t kSlots = 64;
  HitSlot& slot_for(const void* cache, const Key& key);
  void sweep();

  std::array<HitSlot, kSlots> slots_{};
  std::uint64_t seen_epoch_ = 0;
};

}  // namespace memo::detail
