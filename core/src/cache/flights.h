// Flights: per-key single-flight for the misses of one shelf (a cache's store, or one
// session's store of a session-scoped cache).
//
// The first caller that misses a key leads its run; callers that miss the same key while
// it runs follow it and receive its entry or its exception. Other keys never wait: the
// table's mutex is held only to look a run up, register or remove it.
//
// The table is split into shards by key, each with its own mutex, so that the misses of
// different keys on different cores rarely meet on one lock.
//
// Every way out of a miss finishes its run: a Leader is an RAII guard whose destructor
// fails the run if the code that led it returned or threw without finishing it, so no
// follower waits forever and the leading thread never meets its own stale run as a
// "recursive call". A run is removed from the table when it finishes.
//
// Retiring (clear(), clear(args)): the run leaves the table, so later callers start a
// fresh one instead of joining a run from before the clear, and its `retired` flag tells
// the leader not to store what it computes. The shelf retires runs and leaders check the
// flag under the same lock (shelf.h: the gate for clear(), the key's stripe for
// clear(args)), so a clear that returned is never undone by a run that was in flight.
//
// No entry or run is destroyed while a shard's mutex is held: a ResourceEntry's
// destructor may run on_release, which may call back into the cache.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "memo/key.h"
#include "memo/store.h"

namespace memo::detail {

// One run's outcome. Settling costs no system call and no allocation when nobody
// follows (the common miss): a follower announces itself before it sleeps, and the
// leader wakes sleepers only when one announced. Both sides use sequentially consistent
// operations, so either the leader sees the announcement or the follower sees the
// outcome before it sleeps.
class Run {
 public:
  Run();
  bool retired() const { return retired_.load(std::memory_order_acquire); }
  // Waits for the leader; returns its entry or rethrows its exception.
  EntryPtr wait() const;

 private:
  friend class Flights;
  friend class Leader;
  void settle(EntryPtr entry, std::exception_ptr error);

  const std::thread::id leader_;
  std::atomic<bool> retired_{false};
  // Written once by the leader before `settled_` becomes 1, then only read.
  EntryPtr entry_;
  std::exception_ptr error_;
  mutable std::atomic<std::uint32_t> settled_{0};
  mutable std::atomic<std::uint32_t> sleepers_{0};
};

class Flights;

// The leading caller's duty to finish its run, discharged by finish() or fail(), or by
// the destructor with an error if neither was called.
class Leader {
 public:
  Leader(Flights& flights, const Key& key, std::shared_ptr<Run> run);
  ~Leader();
  Leader(const Leader&) = delete;
  Leader& operator=(const Leader&) = delete;

  const Run& run() const { return *run_; }
  void finish(EntryPtr entry);
  void fail(std::exception_ptr error);

 private:
  void settle();
  Flights& flights_;
  const Key key_;
  std::shared_ptr<Run> run_;
  bool settled_ = false;
};

class Flights {
 public:
  struct Joined {
    std::shared_ptr<Run> run;
    bool leads;
  };
  // Follows the run in flight for `key`, or registers a new one led by this thread.
  // Throws RecursiveCallError when this thread already leads `key` (the function called
  // itself with the same arguments: following would wait forever). `what` names the
  // cached function in that error.
  Joined join(const Key& key, const std::string& what);

  void retire(const Key& key);
  void retire_all();

 private:
  friend class Leader;
  void remove(const Key& key, const Run& run);

  static constexpr std::size_t kShards = 8;
  struct alignas(64) Shard {
    std::mutex mu;
    std::unordered_map<Key, std::shared_ptr<Run>, KeyHash> runs;  // guarded by mu
  };
  // By the key's high bits: the stores index by its low ones.
  Shard& shard_of(const Key& key) { return shards_[key.hi >> 61]; }
  static_assert(kShards == 8, "shard_of takes the key's top three bits");

  std::array<Shard, kShards> shards_;
};

}  // namespace memo::detail
