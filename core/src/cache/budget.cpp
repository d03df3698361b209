#include "cache/budget.h"

#include "memo/options.h"

namespace memo::detail {
namespace {

std::atomic<std::uint64_t> next_tick{1};

}  // namespace

void RecencyTracker::touch_locked(std::list<Use>::iterator use, const Entry* entry) {
  use->entry = entry;
  use->tick = next_tick.fetch_add(1, std::memory_order_relaxed);
  order_.splice(order_.begin(), order_, use);
}

void RecencyTracker::inserted(const Key& key, const ValueEntry& entry) {
  std::lock_guard lock(mu_);
  if (entry.retired()) return;  // evicted before its insert finished its bookkeeping
  auto found = where_.find(key);
  if (found != where_.end()) {
    touch_locked(found->second, &entry);
    return;
  }
  order_.push_front({key, &entry, next_tick.fetch_add(1, std::memory_order_relaxed)});
  where_.emplace(key, order_.begin());
}

void RecencyTracker::hit(const Key& key, const ValueEntry& entry) {
  std::lock_guard lock(mu_);
  auto found = where_.find(key);
  if (found != where_.end()) {
    if (found->second->entry == &entry) touch_locked(found->second, &entry);
    return;
  }
  // Stored before a budget applied: tracked from its first use on, unless it has left.
  if (entry.retired()) return;
  order_.push_front({key, &entry, next_tick.fetch_add(1, std::memory_order_relaxed)});
  where_.emplace(key, order_.begin());
}

void RecencyTracker::forget(const Key& key, const ValueEntry& entry) {
  std::lock_guard lock(mu_);
  auto found = where_.find(key);
  if (found == where_.end() || found->second->entry != &entry) return;
  order_.erase(found->second);
  where_.erase(found);
}

std::optional<RecencyTracker::Oldest> RecencyTracker::oldest() const {
  std::lock_guard lock(mu_);
  if (order_.empty()) return std::nullopt;
  const Use& use = order_.back();
  return Oldest{use.key, use.entry, use.tick};
}

std::atomic<std::int64_t>& ProcessBytes::held() {
  static std::atomic<std::int64_t> bytes{0};
  return bytes;
}

std::atomic<std::size_t>& ProcessBytes::budget() {
  static std::atomic<std::size_t> bytes{0};
  return bytes;
}

}  // namespace memo::detail

namespace memo {

void set_process_byte_budget(std::optional<std::size_t> bytes) {
  detail::ProcessBytes::budget().store(bytes.value_or(0), std::memory_order_relaxed);
}

std::optional<std::size_t> process_byte_budget() {
  const std::size_t bytes = detail::ProcessBytes::budget().load(std::memory_order_relaxed);
  return bytes == 0 ? std::nullopt : std::optional<std::size_t>(bytes);
}

}  // namespace memo
