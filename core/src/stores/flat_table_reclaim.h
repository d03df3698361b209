// Deferred reclamation for flat_table (internal to the memo library): epochs for the
// short lookups, hazard pointers for the reads that outlive them.
//
// A reader never writes to the slots it reads, so nothing in a slot tells a writer that
// someone is still looking at the entry (or the table) it is about to give up. Instead
// every thread owns a ThreadRecord, one cache line that only it writes:
//   - `epoch`: on entering an operation the thread copies the global epoch there (one
//     sequentially consistent store, the only fence on a hit) and clears it on leaving.
//     Whatever a writer unlinked before the reader entered, the reader cannot reach.
//   - `hazards`: Store::visit runs the caller's function after leaving the epoch (it may
//     run long and may call the store again), so it first publishes the entry's address
//     in a hazard slot, which stays set for the call.
// A writer that unlinks an entry or a table pushes it onto its store's Limbo with the
// global epoch of the moment. Limbo::reclaim() frees every item that was retired before
// the oldest epoch still announced and that no hazard names (at once, or one per later
// removal: see Limbo::Pace); the rest moves to the limbo's kept list, whose segments
// later reclaims walk again only once the oldest announced epoch has passed the
// earliest epoch in them -- so a reader stalled inside a lookup (a thread
// preempted there, when threads outnumber cores) does not make every reclaim walk the
// thousands of items retired since. Nothing ever waits: such a reader delays freeing,
// never an operation; a reclaim that finds the kept list taken by another leaves its
// leftovers for the next.
//
// Two ways to announce. A thread that is alone in the process (the only one holding a
// record) announces *lightly*: a plain store, which is safe because every reclaim then
// runs membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) first, making each running thread of
// the process execute a full barrier. Once a second thread holds a record, threads
// announce *heavily* (a locked exchange each) and reclaims skip membarrier: it costs an
// inter-processor interrupt per reclaim on every other running thread's CPU, which under
// a hypervisor is a VM exit on both sides and costs more than the exchanges it saves.
// A thread switches itself between the two at the start of an operation, and a reclaim
// runs membarrier exactly while some thread announces lightly (Domain::light_records).
// A light thread that runs no further operation is switched by the first reclaim that
// finds other records in use (revoke_light_records()): one membarrier, then none.
// Costs: a lookup writes only its own record (a store to enter, a store to leave); a
// reclaim reads every record (one line each), plus membarrier while a thread announces
// lightly, and walks the items retired since the last one (plus the kept list, when a
// reader holding it back has left). It is run by the operation whose retire made the
// limbo reach its threshold -- max(32, 2 x records) with heavy announcements; with light
// ones 32 items once a millisecond has passed since the last reclaim, else 1024 -- or
// retired an entry of 1 MiB or more.
// Records are never freed: a thread's record goes back to a free list at thread exit.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "flat_table_atomics.h"

namespace memo::flat_table_detail {

// Nested Store::visit calls on one thread pin one entry each; deeper nesting falls back
// to a counted copy.
inline constexpr std::uint16_t kHazardsPerThread = 5;

struct alignas(64) ThreadRecord {
  // 0 outside operations; else the global epoch read on entering.
  std::atomic<std::uint64_t> epoch{0};
  ThreadRecord* next = nullptr;  // set before the record is published, then constant
  std::atomic<std::uintptr_t> hazards[kHazardsPerThread] = {};
  // Written only by the owning thread.
  std::uint16_t nesting = 0;  // EpochGuards alive
  std::uint16_t pinned = 0;   // hazards in use (a stack)
  std::uint16_t index = 0;    // creation order (wraps): picks the thread's stripe in a store
  // Announces lightly (counted in Domain::light_records). Set only by the owner; cleared
  // by the owner or by a reclaim that revokes it (see revoke_light_records()).
  std::atomic<bool> light{false};
  std::atomic<bool> in_use{false};
};
static_assert(sizeof(ThreadRecord) == 64, "one cache line per thread record");

// The process-wide epoch and the list of thread records. Trivially destructible and
// constant-initialized, so it is usable during static initialization and destruction.
struct Domain {
  std::atomic<std::uint64_t> epoch{1};
  std::atomic<ThreadRecord*> records{nullptr};
  std::atomic<std::size_t> record_count{0};
  std::atomic<std::size_t> records_in_use{0};  // threads that may be inside an operation
  // Records whose thread announces lightly. A thread counts itself (a sequentially
  // consistent increment) before its first light announcement and is uncounted after its
  // last light operation ended or after the membarrier of a reclaim that revoked it, so a
  // reclaim that reads 0 needs no membarrier: a thread that starts announcing lightly
  // later sees every unlink made before that read.
  std::atomic<std::size_t> light_records{0};
};
extern constinit Domain g_domain;

// The calling thread's record for the duration of one operation. After the thread's
// thread_local destructors ran (an operation from a static destructor), a free record
// is leased for the scope instead.
// The calling thread's record: null before its first operation and after its exit
// handler ran. Constant-initialized, so reading it costs no initialization check.
extern constinit thread_local ThreadRecord* t_record;

class ThisThread {
 public:
  ThisThread() : record_(t_record) {
    if (record_ == nullptr) acquire_slow();
  }
  ~ThisThread() {
    if (leased_) release_lease();
  }
  ThisThread(const ThisThread&) = delete;
  ThisThread& operator=(const ThisThread&) = delete;
  ThreadRecord& record() const { return *record_; }

 private:
  void acquire_slow();
  void release_lease();

  ThreadRecord* record_;
  bool leased_ = false;
};

// Whether light announcements are possible: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)
// is registered for the process. Turned on by the first store made in the process (so
// before any announcement), never off; off under ThreadSanitizer, which does not model
// that pairing, and where membarrier is refused.
extern std::atomic<bool> g_membarrier_ready;
void enable_light_announcements_once();

// Moves the calling thread's record to the announcement mode `light` (see the top).
void switch_announcements(ThreadRecord& record, bool light);

// Called by a reclaim while some record announces lightly. When other threads hold
// records too, the light ones belong to threads that have not run an operation since
// company arrived (a main thread that filled a store alone, then waits for its workers):
// left alone, they would keep every reclaim on membarrier with nobody announcing lightly.
// Clears their `light` flags, runs the membarrier (which makes every light announcement
// made before it visible, and every check of the flag after it see the revocation), and
// only then uncounts them. Returns whether the membarrier ran.
bool revoke_light_records();

// Announces the thread inside an operation. Nests (only the outermost guard writes).
class EpochGuard {
 public:
  explicit EpochGuard(ThreadRecord& record) : record_(record) {
    if (record_.nesting++ == 0) {
      const bool light = g_domain.records_in_use.load(std::memory_order_relaxed) == 1 &&
                         g_membarrier_ready.load(std::memory_order_relaxed);
      if (light != record_.light.load(std::memory_order_relaxed)) {
        switch_announcements(record_, light);
      }
      const std::uint64_t epoch = g_domain.epoch.load(std::memory_order_seq_cst);
      if (light) {
        record_.epoch.store(epoch, std::memory_order_relaxed);
        std::atomic_signal_fence(std::memory_order_seq_cst);
        // Revoked meanwhile: the revoking reclaim's membarrier may have passed before the
        // store above, and later reclaims skip it, so announce again the heavy way.
        if (!record_.light.load(std::memory_order_relaxed)) {
          record_.epoch.store(epoch, std::memory_order_seq_cst);
        }
      } else {
        record_.epoch.store(epoch, std::memory_order_seq_cst);
      }
    }
  }
  ~EpochGuard() {
    if (--record_.nesting == 0) record_.epoch.store(0, std::memory_order_release);
  }
  EpochGuard(const EpochGuard&) = delete;
  EpochGuard& operator=(const EpochGuard&) = delete;

 private:
  ThreadRecord& record_;
};

// Whether the caller, which has just unlinked `object` (a sequentially consistent
// compare-and-swap) and holds `self`, is the only thread that can reach it: no other
// thread holds a record -- so none is inside a lookup or pins anything, and one that
// takes a record from now on (a sequentially consistent increment before its first
// lookup) finds the object unlinked -- and the caller pins it in none of its own hazard
// slots (a visit() function that erases its own entry). Then the store's reference needs
// no limbo: a single-threaded program frees as it goes, like a locked map.
bool no_other_reader(const ThreadRecord& self, std::uintptr_t object);

// Something unlinked, waiting until no reader can reach it: an entry reference (`bits`,
// dropped with adopt()) or a block of memory (`block`, released with `release_block`).
struct Retired {
  Retired* next = nullptr;
  std::uint64_t epoch = 0;
  Pair bits{};
  void* block = nullptr;
  void (*release_block)(void*) = nullptr;
};

class Limbo {
 public:
  Limbo() = default;
  ~Limbo() { drain(); }
  Limbo(const Limbo&) = delete;
  Limbo& operator=(const Limbo&) = delete;

  // Lock-free. Call after the item was unlinked. Returns true when the limbo has grown
  // enough that the caller should reclaim() once outside its epoch guard.
  bool push(Retired* item);

  // How reclaim() frees the entries it finds unreachable.
  enum class Pace {
    // All at once: clear(), a large entry, retired tables.
    now,
    // One per later removal (dispose_one_ready()), so that the allocator sees one free
    // per allocation, as with a locked map: a thread that replaces entries allocates the
    // new one and frees an old one, and the chunk it frees is the chunk it allocates
    // next (glibc's per-thread cache takes 7 chunks per size; a batch of 32 frees spills
    // the rest to the arenas' bins -- another thread's arena, for entries it made --
    // and every later allocation then walks a list of cold chunks). The previous
    // reclaim's leftovers, if any, are freed at once.
    spread,
  };

  // Frees what no reader can reach any more; runs entry destructors, so call it
  // outside every EpochGuard. Safe beside concurrent push() and reclaim(). Returns how
  // many blocks (retired tables) are still kept (as far as this call saw them).
  std::size_t reclaim(Pace pace = Pace::now);

  // Frees one entry that the last spread reclaim found unreachable, if any (and if no
  // other thread is at it). Call outside every EpochGuard, after a removal.
  void dispose_one_ready();

  // Frees everything. Only when no operation can run (the owning store's destructor).
  void drain();

 private:
  // The top item's address in the low 48 bits (user-space addresses on x86-64), the
  // number of items (saturating) in the high 16.
  static constexpr std::uint64_t kCountMask = 0xffff;
  static Retired* node_of(std::uint64_t head) {
    return reinterpret_cast<Retired*>(head & ((std::uint64_t{1} << 48) - 1));
  }
  static std::uint64_t count_of(std::uint64_t head) { return head >> 48; }
  static std::uint64_t pack(Retired* node, std::uint64_t count) {
    return reinterpret_cast<std::uint64_t>(node) | (count << 48);
  }

  // A list of items, with the earliest epoch among them and how many are tables.
  struct Kept {
    Retired* head = nullptr;
    Retired* tail = nullptr;
    std::uint64_t earliest = std::numeric_limits<std::uint64_t>::max();
    std::size_t blocks = 0;
    void add(Retired* item);
    void append(Kept& other);
  };
  void push_back_all(const Kept& items);

  std::atomic<std::uint64_t> head_{0};
  std::atomic<std::size_t> returned_{0};  // items the last reclaim pushed back onto head_
  std::atomic<std::int64_t> last_reclaim_ns_{0};
  // Items no reclaim could free yet, one segment per reclaim that kept them (so in
  // rising order of epochs, give or take the items' push order): a reclaim walks only the
  // segments whose earliest epoch the oldest reader has passed. Only the reclaim holding
  // kept_busy_ touches them.
  static constexpr std::size_t kMaxKeptSegments = 64;
  std::atomic<bool> kept_busy_{false};
  std::vector<Kept> kept_;
  // Unreachable items not freed yet (Pace::spread): changed only by the thread holding
  // ready_busy_; read without it only to skip an empty list.
  std::atomic<bool> ready_busy_{false};
  std::atomic<Retired*> ready_{nullptr};
};

// Retired items come from, and go back to, a small per-thread cache: a removal then
// costs no call to the allocator.
Retired* new_retired();

// Frees one retired item now (entry reference or block).
void dispose(Retired* item);

}  // namespace memo::flat_table_detail
