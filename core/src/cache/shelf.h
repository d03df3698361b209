// A shelf: one store of entries, the single-flight table of its misses, and the gate
// that orders publishing a computed entry against clearing.
//
// A global cache has one shelf; a session-scoped cache has one per session, closed when
// the session disconnects.
//
// The publication contract (what makes "a clear() that returned is never undone" true):
//   - clear() takes the gate exclusively, removes every entry and file, then bumps the
//     generation and retires every flight (flights.h);
//   - erase() (clear(args)) takes the gate's shared side and its key's stripe lock,
//     removes the key's entry and file, then retires the key's flight;
//   - a miss publishes -- inserts into the store, commits its disk file -- only under the
//     gate's shared side and its key's stripe lock, and only if the shelf is open, its
//     generation is still the one the miss started in and its run was not retired.
//   So a publication either happens entirely before a clear (which then removes it) or
//   sees the clear and publishes nothing. Retiring last is what covers a miss that starts
//   while the clear is under way: it may have read the memory or the file before they
//   went, and the retirement (or the generation) that follows the removal stops it.
//   Erasing a key excludes only the publications of keys in its stripe, not every miss
//   of the cache: clear(args) on one core does not stall the misses of other keys on the
//   others. The locks are held only for the store
//   insert or erase and the file rename -- never while the function runs, never while a
//   user callback runs (releases happen after they are let go).
#pragma once

#include <array>
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

  // Runs `publish` under the shared gate and `key`'s stripe if the shelf is open, its
  // generation is still `started_in` and `run` was not retired; returns whether it ran.
  template <class Publish>
  bool publish_if_current(const Key& key, std::uint64_t started_in, const Run& run,
                          Publish&& publish) {
    std::shared_lock lock(gate_);
    std::lock_guard key_lock(stripe_of(key));
    if (closed_ || generation_.load(std::memory_order_acquire) != started_in || run.retired()) {
      return false;
    }
    publish();
    return true;
  }

  // Calls `sweep` (which removes the entries and files), then bumps the generation and
  // retires every run, all under the exclusive gate.
  template <class Sweep>
  void clear(Sweep&& sweep) {
    std::unique_lock lock(gate_);
    sweep();
    generation_.fetch_add(1, std::memory_order_acq_rel);
    flights_.retire_all();
  }

  // Calls `remove` (which removes the key's entry and file), then retires the key's run,
  // under the shared gate and `key`'s stripe.
  template <class Remove>
  void erase(const Key& key, Remove&& remove) {
    std::shared_lock lock(gate_);
    std::lock_guard key_lock(stripe_of(key));
    remove();
    flights_.retire(key);
  }

  // Session end: nothing is published here again; every entry is removed.
  void close(RemovedList& removed) {
    std::unique_lock lock(gate_);
    closed_ = true;
    store_->clear(removed);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    flights_.retire_all();
  }

 private:
  static constexpr std::size_t kStripes = 16;
  struct alignas(64) Stripe {
    std::mutex mu;
  };
  // By the key's high bits, like the flights' shards (the stores index by the low ones).
  std::mutex& stripe_of(const Key& key) { return stripes_[key.hi >> 60].mu; }
  static_assert(kStripes == 16, "stripe_of takes the key's top four bits");

  // Read by every call (the store) and every miss (the generation); written rarely.
  // What every miss and every erase writes -- the flights' and the stripes' mutexes, the
  // gate's reader count -- lives on other cache lines, or a miss on one core would cost
  // each hit on the other a cache miss on this line.
  const std::unique_ptr<Store> store_;
  std::atomic<std::uint64_t> generation_{0};
  bool closed_ = false;  // guarded by gate_
  alignas(64) std::shared_mutex gate_;
  alignas(64) Flights flights_;
  std::array<Stripe, kStripes> stripes_;
};

}  // namespace memo::detail
