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
// Admission: a key takes a slot from another key only when it is met twice in a row at
// that slot (the slot remembers the last key that asked, without a reference). Filling
// a slot writes the entry's shared count and replacing one drops another's, so on a
// trace of many keys, filling on every hit would add shared writes instead of saving
// them; the keys hit again and again are the ones worth a slot.
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
  // The key the slot is for; it stays when its entry retires, so the key's next entry
  // is slotted at once.
  const void* cache = nullptr;
  Key key{};
  std::shared_ptr<const ValueEntry> entry;  // null: none (yet, or retired)
  // A thread-private owner of `entry`. A hit holds it (not the entry) while it runs user
  // code, and a resource handle is made through it, so both write this thread's control
  // block and never the entry's, which every thread hitting the entry shares.
  std::shared_ptr<std::shared_ptr<const ValueEntry>> owner;
  // The last other key that asked for the slot (admission).
  const void* candidate_cache = nullptr;
  Key candidate_key{};

  bool is_for(const void* c, const Key& k) const { return cache == c && key == k; }
  void drop_entry() {
    entry.reset();
    owner.reset();
  }
};

class HitSlots {
 public:
  // This thread's slots, swept if a slotted entry retired since the last call.
  static HitSlots& mine();

  // The slot holding `key` of `cache` with an entry that has not retired, or null.
  HitSlot* find(const void* cache, const Key& key);
  // Remembers `entry` (stored, not retired) for `key` of `cache` if the key is admitted
  // (see above), replacing whatever the slot held; returns the slot, or null when the
  // key was not admitted or the entry retired meanwhile.
  HitSlot* fill(const void* cache, const Key& key, const std::shared_ptr<const ValueEntry>& entry);
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
