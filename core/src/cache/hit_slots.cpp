#include "cache/hit_slots.h"

#include <atomic>

#include "cache/striped_counter.h"

namespace memo::detail {
namespace {

// Bumped whenever an entry that some slot may hold retires.
std::atomic<std::uint64_t> retire_epoch{0};
std::atomic<std::size_t> next_stripe{0};

}  // namespace

std::size_t StripedCounter::my_stripe() noexcept {
  thread_local const std::size_t stripe =
      next_stripe.fetch_add(1, std::memory_order_relaxed) % kStripes;
  return stripe;
}

HitSlots& HitSlots::mine() {
  thread_local HitSlots slots;
  const std::uint64_t epoch = retire_epoch.load(std::memory_order_acquire);
  if (epoch != slots.seen_epoch_) {
    slots.seen_epoch_ = epoch;
    slots.sweep();
  }
  return slots;
}

HitSlot& HitSlots::slot_for(const void* cache, const Key& key) {
  const auto mixed = (key.lo ^ reinterpret_cast<std::uintptr_t>(cache)) * 0x9E3779B97F4A7C15ull;
  return slots_[mixed >> (64 - 6)];
}
static_assert(std::size_t{1} << 6 == 64);

HitSlot* HitSlots::find(const void* cache, const Key& key) {
  HitSlot& slot = slot_for(cache, key);
  if (!slot.entry || !slot.is_for(cache, key)) return nullptr;
  if (slot.entry->retired()) {
    slot.drop_entry();
    return nullptr;
  }
  // The owner was met in between: another key's ask no longer counts as the last.
  if (slot.candidate_cache != nullptr) slot.candidate_cache = nullptr;
  return &slot;
}

HitSlot* HitSlots::fill(const void* cache, const Key& key,
                        const std::shared_ptr<const ValueEntry>& entry) {
  HitSlot& slot = slot_for(cache, key);
  if (slot.entry == entry) return &slot;
  if (!slot.is_for(cache, key)) {
    const bool asked_last = slot.candidate_cache == cache && slot.candidate_key == key;
    if (!asked_last && slot.cache != nullptr) {
      slot.candidate_cache = cache;
      slot.candidate_key = key;
      return nullptr;
    }
    slot.cache = cache;
    slot.key = key;
  }
  slot.candidate_cache = nullptr;
  // Slotted before the retired check, both sequentially consistent: either the
  // releaser sees the flag (and bumps the epoch) or this thread sees it retired.
  entry->mark_slotted();
  slot.owner = std::make_shared<std::shared_ptr<const ValueEntry>>(entry);
  slot.entry = entry;
  if (slot.entry->retired()) {
    slot.drop_entry();
    return nullptr;
  }
  return &slot;
}

void HitSlots::retired(const ValueEntry& entry) {
  if (entry.slotted()) retire_epoch.fetch_add(1, std::memory_order_acq_rel);
}

void HitSlots::sweep() {
  for (HitSlot& slot : slots_) {
    if (slot.entry && slot.entry->retired()) slot.drop_entry();
  }
}

}  // namespace memo::detail
