#include "memo/detail/byte_budget.h"

#include <atomic>

#include "memo/stats.h"

namespace memo::detail {
namespace {

std::atomic<std::uint64_t> next_tick{1};

}  // namespace

void RecencyTracker::touch(const Key& key, const Entry* entry) {
  const std::uint64_t tick = next_tick.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  auto found = where_.find(key);
  if (found != where_.end()) {
    found->second->entry = entry;
    found->second->tick = tick;
    order_.splice(order_.begin(), order_, found->second);
    return;
  }
  order_.push_front({key, entry, tick});
  where_.emplace(key, order_.begin());
}

void RecencyTracker::forget(const Key& key, const Entry* entry) {
  std::lock_guard lock(mu_);
  auto found = where_.find(key);
  if (found == where_.end() || found->second->entry != entry) return;
  order_.erase(found->second);
  where_.erase(found);
}

std::optional<RecencyTracker::Oldest> RecencyTracker::oldest() const {
  std::lock_guard lock(mu_);
  if (order_.empty()) return std::nullopt;
  const Use& use = order_.back();
  return Oldest{use.key, use.entry, use.tick};
}

}  // namespace memo::detail
