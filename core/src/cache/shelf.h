// A shelf: one store of entries, the single-flight table of its misses, and the gate
// that orders publishing a computed entry against clearing.
//
// A global cache has one shelf; a session-scoped cache has one per session, closed when
// the session disconnects.
//
// The publication contract (what makes "a clear() that returned is never undone" true):
//   - clear() and erase() take the gate exclusively, retire the flights they race with
//     (flights.h) and bump the generation (clear) before removing anything;
//   - a miss publishes -- inserts into the store, commits its disk file -- only under the
//     shared side of the gate, and only if the shelf is open, its generation is still the
//     one the miss started in and its run was not retired.
//   So a publication either happens entirely before a clear (which then removes it) or
//   sees the clear and publishes nothing. The gate is held only for the store insert and
//   the file rename -- never while the function runs, never while a user callback runs
//   (releases happen after it is let go).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "cache/flights.h"
#include "memo/store.h"

namespace memo::detail {

class Shelf {
 public:
  explicit Shelf(std::unique_ptr<Store> store) : store_(std::move(store)) {}

  Store& store() const { return *store_; }
  Flights& flights() { return flights_; }
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // Runs `publish` under the shared gate if the shelf is open, its generation is still
  // `started_in` and `run` was not retired; returns whether it ran.
  template <class Publish>
  bool publish_if_current(std::uint64_t started_in, const Run& run, Publish&& publish) {
    std::shared_lock lock(gate_);
    if (closed_ || generation_.load(std::memory_order_acquire) != started_in || run.retired()) {
      return false;
    }
    publish();
    return true;
  }

  // Bumps the generation, retires every run and calls `sweep` (which removes the
  // entries), all under the exclusive gate.
  template <class Sweep>
  void clear(Sweep&& sweep) {
    std::unique_lock lock(gate_);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    flights_.retire_all();
    sweep();
  }

  // Retires the run of `key` and calls `remove`, under the exclusive gate.
  template <class Remove>
  void erase(const Key& key, Remove&& remove) {
    std::unique_lock lock(gate_);
    flights_.retire(key);
    remove();
  }

  // Session end: nothing is published here again; every entry is removed.
  void close(RemovedList& removed) {
    std::unique_lock lock(gate_);
    closed_ = true;
    generation_.fetch_add(1, std::memory_order_acq_rel);
    flights_.retire_all();
    store_->clear(removed);
  }

 private:
  const std::unique_ptr<Store> store_;
  Flights flights_;
  std::shared_mutex gate_;
  std::atomic<std::uint64_t> generation_{0};
  bool closed_ = false;  // guarded by gate_
};

}  // namespace memo::detail
