#include "cache/flights.h"

#include <stdexcept>

#include "memo/errors.h"

namespace memo::detail {

Run::Run() : leader_(std::this_thread::get_id()) {}

EntryPtr Run::wait() const {
  if (settled_.load(std::memory_order_seq_cst) == 0) {
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    while (settled_.load(std::memory_order_seq_cst) == 0) settled_.wait(0, std::memory_order_seq_cst);
  }
  if (error_) std::rethrow_exception(error_);
  return entry_;
}

void Run::settle(EntryPtr entry, std::exception_ptr error) {
  entry_ = std::move(entry);
  error_ = std::move(error);
  settled_.store(1, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) != 0) settled_.notify_all();
}

Leader::Leader(Flights& flights, const Key& key, std::shared_ptr<Run> run)
    : flights_(flights), key_(key), run_(std::move(run)) {}

Leader::~Leader() {
  if (!settled_) {
    fail(std::make_exception_ptr(
        std::logic_error("memo: a miss ended without a value or an error (internal error)")));
  }
}

void Leader::finish(EntryPtr entry) {
  if (settled_) return;
  run_->settle(std::move(entry), nullptr);
  settle();
}

void Leader::fail(std::exception_ptr error) {
  if (settled_) return;
  run_->settle(nullptr, std::move(error));
  settle();
}

void Leader::settle() {
  settled_ = true;
  flights_.remove(key_, *run_);
}

Flights::Joined Flights::join(const Key& key, const std::string& what) {
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mu);
  auto found = shard.runs.find(key);
  if (found != shard.runs.end()) {
    if (found->second->leader_ == std::this_thread::get_id()) {
      throw RecursiveCallError("memo: cached function '" + what +
                               "' called itself with the same arguments while computing "
                               "them; this would wait on itself forever");
    }
    return {found->second, false};
  }
  auto run = std::make_shared<Run>();
  shard.runs.emplace(key, run);
  return {std::move(run), true};
}

void Flights::remove(const Key& key, const Run& run) {
  std::shared_ptr<Run> removed;  // dropped after the lock
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mu);
  auto found = shard.runs.find(key);
  if (found != shard.runs.end() && found->second.get() == &run) {
    removed = std::move(found->second);
    shard.runs.erase(found);
  }
}

void Flights::retire(const Key& key) {
  std::shared_ptr<Run> removed;
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mu);
  auto found = shard.runs.find(key);
  if (found == shard.runs.end()) return;
  found->second->retired_.store(true, std::memory_order_release);
  removed = std::move(found->second);
  shard.runs.erase(found);
}

// Shard by shard: a run that joins a shard already swept started after the caller's
// removals and generation bump (shelf.h), so it is current, not one from before the clear.
void Flights::retire_all() {
  std::vector<std::shared_ptr<Run>> removed;  // dropped after every lock
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (auto& [key, run] : shard.runs) {
      run->retired_.store(true, std::memory_order_release);
      removed.push_back(std::move(run));
    }
    shard.runs.clear();
  }
}

}  // namespace memo::detail
