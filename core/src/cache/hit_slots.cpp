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
  if (slot.cache != cache || !(slot.key == key) || !slot.entry) return nullptr;
  if (slot.entry->retired()) {
    slot = HitSlot{};
    return nullptr;
  }
  return &slot;
}

HitSlot& HitSlots::fill(const void* cache, const Key& key, std::shared_ptr<const ValueEntry> entry) {
  HitSlot& slot = slot_for(cache, key);
  if (slot.entry != entry) {
    // Slotted before the retired check, both sequentially consistent: either the
    // releaser sees the flag (and bumps the epoch) or this thread sees it retired.
    entry->mark_slotted();
    auto owner = std::make_shared<std::shared_ptr<const ValueEntry>>(entry);
    slot = HitSlot{cache, key, std::move(entry), std::move(owner)};
    if (slot.entry->retired()) slot = HitSlot{};
  }
  return slot;
}

void HitSlots::retired(const ValueEntry& entry) {
  if (entry.slotted()) retire_epoch.fetch_add(1, std::memory_order_acq_rel);
}

void HitSlots::sweep() {
  for (HitSlot& slot : slots_) {
    if (slot.entry && slot.entry->retired()) slot = HitSlot{};
  }
}

}  // namespace memo::detail
