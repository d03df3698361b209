#include "flat_table_reclaim.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <mutex>
#include <new>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

namespace memo::flat_table_detail {

constinit Domain g_domain;
constinit thread_local ThreadRecord* t_record = nullptr;
std::atomic<bool> g_membarrier_ready{false};

void enable_light_announcements_once() {
#if !defined(MEMO_FLAT_TABLE_TSAN)
  static std::once_flag once;
  std::call_once(once, [] {
    const long supported = ::syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (supported < 0 || (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return;
    if (::syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0) return;
    g_membarrier_ready.store(true, std::memory_order_seq_cst);
  });
#endif
}

namespace {

// Trivially destructible, so readable while the thread's other thread_locals are being
// destroyed.
thread_local bool t_exited = false;

ThreadRecord* acquire_record() {
  for (ThreadRecord* r = g_domain.records.load(std::memory_order_acquire); r != nullptr;
       r = r->next) {
    bool free = false;
    if (!r->in_use.load(std::memory_order_relaxed) &&
        r->in_use.compare_exchange_strong(free, true, std::memory_order_acquire)) {
      g_domain.records_in_use.fetch_add(1, std::memory_order_seq_cst);
      return r;
    }
  }
  auto* record = new ThreadRecord;  // never freed: readers of the list may hold it
  record->in_use.store(true, std::memory_order_relaxed);
  record->index = static_cast<std::uint16_t>(g_domain.record_count.load(std::memory_order_relaxed));
  ThreadRecord* head = g_domain.records.load(std::memory_order_relaxed);
  do {
    record->next = head;
  } while (!g_domain.records.compare_exchange_weak(head, record, std::memory_order_release,
                                                   std::memory_order_relaxed));
  g_domain.record_count.fetch_add(1, std::memory_order_relaxed);
  g_domain.records_in_use.fetch_add(1, std::memory_order_seq_cst);
  return record;
}

void release_record(ThreadRecord* record) {
  // Outside every operation: epoch 0 and no hazards, so the next owner starts clean.
  if (record->light.load(std::memory_order_relaxed)) switch_announcements(*record, false);
  g_domain.records_in_use.fetch_sub(1, std::memory_order_seq_cst);
  record->in_use.store(false, std::memory_order_release);
}

struct ReleaseAtThreadExit {
  ThreadRecord* record = nullptr;
  ~ReleaseAtThreadExit() {
    if (record != nullptr) release_record(record);
    t_record = nullptr;
    t_exited = true;
  }
};

ThreadRecord* register_this_thread() {
  thread_local ReleaseAtThreadExit owner;
  owner.record = acquire_record();
  t_record = owner.record;
  return t_record;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The other half of a light announcement: a full barrier on every running thread of
// the process, so that an announcement made before it is seen by the loads after it.
// Called after the reclaim's epoch increment: a thread not yet counted in light_records
// when it is read here counts itself later, and then sees every unlink made before.
void heavy_fence() {
  if (g_domain.light_records.load(std::memory_order_seq_cst) != 0 && !revoke_light_records()) {
    ::syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
  }
}

constexpr std::uint64_t kMinBatch = 32;
constexpr std::uint64_t kLightBatch = 1024;
constexpr std::int64_t kLightInterval_ns = 1'000'000;

}  // namespace

// Counted before the flag is set and uncounted after it is cleared, by whoever clears it
// (the owner or a revoking reclaim, whichever exchange wins): the count may run ahead of
// the flags, which costs a membarrier at most, never behind them.
void switch_announcements(ThreadRecord& record, bool light) {
  if (light) {
    g_domain.light_records.fetch_add(1, std::memory_order_seq_cst);
    record.light.store(true, std::memory_order_seq_cst);
  } else if (record.light.exchange(false, std::memory_order_seq_cst)) {
    g_domain.light_records.fetch_sub(1, std::memory_order_seq_cst);
  }
}

bool revoke_light_records() {
  if (g_domain.records_in_use.load(std::memory_order_seq_cst) <= 1) return false;
  std::size_t revoked = 0;
  for (ThreadRecord* r = g_domain.records.load(std::memory_order_acquire); r != nullptr;
       r = r->next) {
    if (r->light.load(std::memory_order_relaxed) &&
        r->light.exchange(false, std::memory_order_seq_cst)) {
      ++revoked;
    }
  }
  if (revoked == 0) return false;
  ::syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
  g_domain.light_records.fetch_sub(revoked, std::memory_order_seq_cst);
  return true;
}

void ThisThread::acquire_slow() {
  if (t_exited) {
    record_ = acquire_record();
    leased_ = true;
  } else {
    record_ = register_this_thread();
  }
}

void ThisThread::release_lease() { release_record(record_); }

bool no_other_reader(const ThreadRecord& self, std::uintptr_t object) {
  if (g_domain.records_in_use.load(std::memory_order_seq_cst) != 1) return false;
  for (const auto& hazard : self.hazards) {
    if (hazard.load(std::memory_order_relaxed) == object) return false;
  }
  return true;
}

namespace {

// A limbo's head word carries its item count in the high bits, so LeakSanitizer cannot
// read it as a pointer: it would report every retired item (and the entry it holds) of
// a store that outlives the check as leaked. Items are marked as roots instead, which
// keeps what they hold visible to it.
Retired* allocate_retired() {
  auto* item = new (std::nothrow) Retired;
#if defined(__SANITIZE_ADDRESS__)
  if (item != nullptr) __lsan_ignore_object(item);
#endif
  return item;
}

// Freed items kept for this thread's next removals. Items migrate between threads (the
// reclaiming thread frees what others retired); the cache is bounded either way.
class RetiredCache {
 public:
  RetiredCache() { items_.reserve(kCapacity); }
  ~RetiredCache() {
    for (Retired* item : items_) delete item;
  }
  Retired* take() {
    if (items_.empty()) return allocate_retired();
    Retired* item = items_.back();
    items_.pop_back();
    *item = Retired{};
    return item;
  }
  void give(Retired* item) {
    if (items_.size() >= kCapacity) {
      delete item;
      return;
    }
    items_.push_back(item);
  }

 private:
  static constexpr std::size_t kCapacity = 256;
  std::vector<Retired*> items_;
};

// After the thread's destructors ran (a store destroyed by a static destructor), items
// are allocated and freed directly.
thread_local bool t_cache_gone = false;

RetiredCache* retired_cache() {
  if (t_cache_gone) return nullptr;
  struct Holder {
    RetiredCache cache;
    ~Holder() { t_cache_gone = true; }
  };
  thread_local Holder holder;
  return &holder.cache;
}

}  // namespace

Retired* new_retired() {
  RetiredCache* cache = retired_cache();
  if (cache == nullptr) return allocate_retired();
  try {
    return cache->take();
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

void dispose(Retired* item) {
  if (item->block != nullptr) {
    item->release_block(item->block);
  } else {
    adopt(item->bits);  // the store's reference: may run the entry's destructor
  }
  if (RetiredCache* cache = retired_cache()) {
    cache->give(item);
  } else {
    delete item;
  }
}

namespace {

// The entry's control block, which dispose() writes (the reference count): fetched ahead
// while the item before it is freed, so a run of frees does not wait on one miss each.
void prefetch_release(const Retired* item) {
  if (item != nullptr && item->block == nullptr) {
    __builtin_prefetch(reinterpret_cast<const void*>(untagged(item->bits).hi), 1);
  }
}

// Frees a list of retired items (linked by `next`).
void dispose_all(Retired* items) {
  while (items != nullptr) {
    Retired* next = items->next;
    prefetch_release(next);
    dispose(items);
    items = next;
  }
}

}  // namespace

bool Limbo::push(Retired* item) {
  // The count travels in the head word itself: a pusher never reads a node it does not
  // own (a reclaim may have freed the head it saw).
  std::uint64_t head = head_.load(std::memory_order_relaxed);
  std::uint64_t count = 0;
  do {
    item->next = node_of(head);
    count = std::min(count_of(head) + 1, kCountMask);
  } while (!head_.compare_exchange_weak(head, pack(item, count), std::memory_order_release,
                                        std::memory_order_relaxed));
  const std::uint64_t fresh = count - std::min<std::uint64_t>(count, returned_.load(std::memory_order_relaxed));
  if (g_domain.light_records.load(std::memory_order_relaxed) == 0) {
    return fresh >= std::max<std::uint64_t>(kMinBatch, 2 * g_domain.record_count.load(std::memory_order_relaxed));
  }
  // Each reclaim costs a membarrier: at most one a millisecond unless the batch is large.
  if (fresh >= kLightBatch) return true;
  return fresh >= kMinBatch && fresh % kMinBatch == 0 &&
         now_ns() - last_reclaim_ns_.load(std::memory_order_relaxed) >= kLightInterval_ns;
}

void Limbo::Kept::add(Retired* item) {
  item->next = nullptr;
  if (tail != nullptr) tail->next = item; else head = item;
  tail = item;
  earliest = std::min(earliest, item->epoch);
  if (item->block != nullptr) ++blocks;
}

void Limbo::Kept::append(Kept& other) {
  if (other.head == nullptr) return;
  if (tail != nullptr) tail->next = other.head; else head = other.head;
  tail = other.tail;
  earliest = std::min(earliest, other.earliest);
  blocks += other.blocks;
  other = Kept{};
}

void Limbo::push_back_all(const Kept& items) {
  std::size_t count = 0;
  for (const Retired* item = items.head; item != nullptr; item = item->next) ++count;
  returned_.store(count, std::memory_order_relaxed);
  if (items.head == nullptr) return;
  std::uint64_t head = head_.load(std::memory_order_relaxed);
  do {
    items.tail->next = node_of(head);
  } while (!head_.compare_exchange_weak(head, pack(items.head, std::min(count_of(head) + count, kCountMask)),
                                        std::memory_order_release, std::memory_order_relaxed));
}

std::size_t Limbo::reclaim(Pace pace) {
  // Makes `items` the ready list and hands the old one back in `previous`; false, and
  // nothing changed, when another thread holds the list.
  auto swap_ready = [&](Retired* items, Retired*& previous) {
    bool busy = false;
    if (!ready_busy_.compare_exchange_strong(busy, true, std::memory_order_acquire)) return false;
    previous = ready_.exchange(items, std::memory_order_relaxed);
    ready_busy_.store(false, std::memory_order_release);
    return true;
  };
  if (pace == Pace::now) {
    if (Retired* ready = nullptr; swap_ready(nullptr, ready)) dispose_all(ready);
  }
  Retired* batch = node_of(head_.exchange(0, std::memory_order_acquire));
  bool busy = false;
  const bool own_kept = kept_busy_.compare_exchange_strong(busy, true, std::memory_order_acquire);
  // Nothing new, and the kept list empty or being walked by another reclaim.
  if (batch == nullptr && (!own_kept || kept_.empty())) {
    if (own_kept) kept_busy_.store(false, std::memory_order_release);
    return 0;
  }

  last_reclaim_ns_.store(now_ns(), std::memory_order_relaxed);
  // Readers that enter from now on announce a later epoch than anything in the batch.
  // Every access on both sides of the protocol is sequentially consistent (a reader's
  // announcement and its slot loads; a writer's unlink, this increment and the loads
  // below), or a light announcement paired with heavy_fence(), so either a reader's
  // announcement is seen here or its lookup sees the unlink.
  g_domain.epoch.fetch_add(1, std::memory_order_seq_cst);
  heavy_fence();
  std::uint64_t oldest = std::numeric_limits<std::uint64_t>::max();
  std::vector<std::uintptr_t> pinned;
  for (ThreadRecord* r = g_domain.records.load(std::memory_order_acquire); r != nullptr;
       r = r->next) {
    // The epoch first: reading 0 (or a later entry) orders the hazards the thread set
    // before leaving its lookup before our reads of them.
    const std::uint64_t announced = r->epoch.load(std::memory_order_seq_cst);
    if (announced != 0) oldest = std::min(oldest, announced);
    for (const auto& hazard : r->hazards) {
      if (const std::uintptr_t p = hazard.load(std::memory_order_acquire)) pinned.push_back(p);
    }
  }
  std::sort(pinned.begin(), pinned.end());

  // Splits `items` into what no reader can reach (onto `free_list`) and the rest.
  Retired* free_list = nullptr;
  auto sort_out = [&](Retired* items, Kept& still_kept) {
    for (Retired* item = items; item != nullptr;) {
      Retired* next = item->next;
      const bool reachable =
          item->epoch >= oldest ||
          (item->block == nullptr &&
           std::binary_search(pinned.begin(), pinned.end(), static_cast<std::uintptr_t>(item->bits.lo)));
      if (reachable) {
        still_kept.add(item);
      } else {
        item->next = free_list;
        free_list = item;
      }
      item = next;
    }
  };
  Kept from_batch;
  sort_out(batch, from_batch);
  std::size_t kept_blocks = from_batch.blocks;
  if (own_kept) {
    // A segment is walked again only when a reader that held it back has left since.
    std::size_t live = 0;
    kept_blocks = 0;
    for (Kept& segment : kept_) {
      if (segment.earliest < oldest) {
        Kept previous = segment;
        segment = Kept{};
        sort_out(previous.head, segment);
      }
      if (segment.head == nullptr) continue;
      kept_blocks += segment.blocks;
      kept_[live++] = segment;
    }
    kept_.resize(live);
    bool pushed_back = false;
    if (from_batch.head != nullptr) {
      kept_blocks += from_batch.blocks;
      bool appended = false;
      if (kept_.size() < kMaxKeptSegments) {
        try {
          kept_.push_back(from_batch);
          appended = true;
        } catch (const std::bad_alloc&) {
        }
      }
      if (!appended && !kept_.empty()) {
        kept_.back().append(from_batch);
      } else if (!appended) {
        push_back_all(from_batch);  // no segment to join: left for the next reclaim
        pushed_back = true;
      }
    }
    if (!pushed_back) returned_.store(0, std::memory_order_relaxed);
    kept_busy_.store(false, std::memory_order_release);
  } else {
    // Another reclaim holds the kept list: what is still reachable goes back on top of
    // whatever was pushed meanwhile. The next reclaim waits for `threshold` new items
    // beyond these, so a stalled reader cannot make every push rescan a growing limbo.
    push_back_all(from_batch);
  }
  if (pace == Pace::spread && free_list != nullptr) {
    // The leftovers of the last spread reclaim go now; this one's wait for removals.
    if (Retired* leftover = nullptr; swap_ready(free_list, leftover)) free_list = leftover;
  }
  dispose_all(free_list);
  return kept_blocks;
}

void Limbo::dispose_one_ready() {
  if (ready_.load(std::memory_order_relaxed) == nullptr) return;
  bool busy = false;
  if (!ready_busy_.compare_exchange_strong(busy, true, std::memory_order_acquire)) return;
  Retired* item = ready_.load(std::memory_order_relaxed);
  if (item != nullptr) {
    ready_.store(item->next, std::memory_order_relaxed);
    prefetch_release(item->next);  // the next removal's free
  }
  ready_busy_.store(false, std::memory_order_release);
  if (item != nullptr) dispose(item);  // outside the flag: it may run an entry's destructor
}

void Limbo::drain() {
  dispose_all(ready_.exchange(nullptr, std::memory_order_relaxed));
  dispose_all(node_of(head_.exchange(0, std::memory_order_acquire)));
  for (Kept& segment : kept_) dispose_all(segment.head);
  kept_.clear();
}

}  // namespace memo::flat_table_detail
