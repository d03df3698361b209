#include "memo/stores/flat_table.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <thread>

#include "flat_table_atomics.h"
#include "flat_table_reclaim.h"

// LeakSanitizer does not scan memory mapped with mmap: without registering the mapped
// tables as root regions, every entry a table holds would be reported as leaked.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define MEMO_LSAN_ROOT_REGION(memory, bytes) __lsan_register_root_region(memory, bytes)
#define MEMO_LSAN_FORGET_REGION(memory, bytes) __lsan_unregister_root_region(memory, bytes)
#else
#define MEMO_LSAN_ROOT_REGION(memory, bytes) ((void)0)
#define MEMO_LSAN_FORGET_REGION(memory, bytes) ((void)0)
#endif

namespace memo {
namespace flat_table_detail {

#if !defined(MEMO_FLAT_TABLE_TSAN)
bool g_sse_loads_are_atomic = __builtin_cpu_supports("avx");
#endif

void check_entry_bits_layout() {
  static const bool ok = [] {
    struct Probe final : Entry {
      Probe() : Entry(Entry::never, 0) {}
    };
    EntryPtr original = std::make_shared<const Probe>();
    const Entry* object = original.get();
    EntryPtr copy = original;
    const Pair bits = leak(std::move(copy));
    const bool layout = bits.lo == reinterpret_cast<std::uintptr_t>(object) && bits.hi != 0 &&
                        (bits.hi & kTagMask) == 0 && original.use_count() == 2;
    const bool borrowed = BorrowedEntry(bits).get().get() == object && original.use_count() == 2;
    EntryPtr back = adopt(bits);
    return layout && borrowed && back.get() == object && original.use_count() == 2;
  }();
  if (!ok) {
    throw std::logic_error(
        "memo: flat_table needs std::shared_ptr laid out as an object pointer followed by a "
        "control-block pointer; this standard library differs");
  }
}

}  // namespace flat_table_detail

namespace {

using namespace flat_table_detail;

// ---- the table ---------------------------------------------------------------------

// One slot: 48 bytes, the whole key, the entry and the CLOCK countdown.
//   key    all zeroes until claimed for a key, then that key for the table's life
//          (the all-zero key itself lives in the store's zero_slot_)
//   entry  (0, 0) never held an entry in this table; (0, kVacated) held one, now none;
//          (entry, control block) live; kFrozen set while the table is being migrated
//   meta   CLOCK countdown 0..kCountdownMax: a hit sets it to the maximum (only if it
//          is not there already), the hand decrements it, an entry at 0 is evicted
struct alignas(16) Slot {
  Pair key;
  Pair entry;
  std::uint64_t meta;
  std::uint64_t unused;
};
static_assert(sizeof(Slot) == 48);

constexpr std::uint64_t kCountdownMax = 3;
constexpr Pair kVacatedBits{0, kVacated};
constexpr std::size_t kMinSlots = 16;
constexpr std::size_t kChunkSlots = 256;  // slots a migrating thread copies at a time
constexpr std::size_t kSweepBatch = 4;    // slots the hand advances by at a time
constexpr std::size_t kPromptReclaimBytes = std::size_t{1} << 20;
constexpr std::size_t kStripes = 8;
// Tables from this size on are mapped directly (zero pages arrive on first touch) and,
// from kHugePageBytes on, offered transparent huge pages: a random probe into a large
// table then costs no page walk.
constexpr std::size_t kMapBytes = std::size_t{1} << 20;
constexpr std::size_t kHugePageBytes = std::size_t{4} << 20;

std::atomic_ref<std::uint64_t> meta_of(Slot& slot) { return std::atomic_ref<std::uint64_t>(slot.meta); }

bool is_zero(const Key& key) { return key.lo == 0 && key.hi == 0; }
Pair key_bits(const Key& key) { return {key.lo, key.hi}; }

// A table of 2^n slots. The header's two lines keep what readers read (mask, next) apart
// from what migrations and claims write.
struct alignas(64) Table {
  std::size_t mask = 0;
  std::atomic<Table*> next{nullptr};  // the table this one is being migrated into
  std::size_t bytes = 0;
  bool mapped = false;

  alignas(64) std::atomic<std::size_t> keyed{0};  // slots claimed for a key
  std::atomic<std::size_t> next_chunk{0};        // first chunk no thread has taken yet
  std::atomic<std::size_t> chunks_done{0};

  std::size_t size() const { return mask + 1; }
  std::size_t chunks() const { return (size() + kChunkSlots - 1) / kChunkSlots; }
  Slot* slots() { return reinterpret_cast<Slot*>(reinterpret_cast<char*>(this) + sizeof(Table)); }
  Slot& slot(std::size_t i) { return slots()[i & mask]; }
  // One byte per chunk, set by whoever finishes copying it.
  std::atomic_ref<std::uint8_t> chunk_done(std::size_t chunk) {
    auto* flags = reinterpret_cast<std::uint8_t*>(slots() + size());
    return std::atomic_ref<std::uint8_t>(flags[chunk]);
  }
};
static_assert(sizeof(Table) == 128);

Table* allocate_table(std::size_t slots) {
  const std::size_t chunks = (slots + kChunkSlots - 1) / kChunkSlots;
  std::size_t bytes = sizeof(Table) + slots * sizeof(Slot) + chunks;
  bytes = (bytes + 63) & ~std::size_t{63};
  void* memory = nullptr;
  bool mapped = false;
  if (bytes >= kMapBytes) {
    memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) throw std::bad_alloc();
    if (bytes >= kHugePageBytes) ::madvise(memory, bytes, MADV_HUGEPAGE);  // a hint only
    MEMO_LSAN_ROOT_REGION(memory, bytes);
    mapped = true;
  } else {
    memory = std::aligned_alloc(64, bytes);
    if (memory == nullptr) throw std::bad_alloc();
    std::memset(memory, 0, bytes);
  }
  // The slots and chunk flags are all-zero bytes, which is their empty state; only the
  // header is constructed.
  auto* table = ::new (memory) Table;
  table->mask = slots - 1;
  table->bytes = bytes;
  table->mapped = mapped;
  return table;
}

void free_table(void* memory) {
  auto* table = static_cast<Table*>(memory);
  const std::size_t bytes = table->bytes;
  const bool mapped = table->mapped;
  table->~Table();
  if (mapped) {
    MEMO_LSAN_FORGET_REGION(memory, bytes);
    ::munmap(memory, bytes);
  } else {
    std::free(memory);
  }
}

// Room for one more element, so that pushing a removal report after the slot changed
// cannot throw.
// Set by the thread whose operation retired a table, which then reclaims on its way out.
thread_local bool t_table_retired = false;

void make_room(RemovedList& removed) {
  if (removed.size() == removed.capacity()) removed.reserve(std::max<std::size_t>(8, 2 * removed.size()));
}

// ---- the store ---------------------------------------------------------------------

// What an operation leaves for after its EpochGuard (entry destructors may run there).
struct Cleanup {
  bool retired = false;      // it put an entry into the limbo
  bool reclaim = false;      // which reached its threshold
  bool reclaim_now = false;  // or was an entry of kPromptReclaimBytes or more
};

// Per-thread-group state, so that threads on different cores write different lines:
// the limbo of removed entries.
struct alignas(64) Stripe {
  Limbo limbo;
};

class FlatTableStore final : public Store {
 public:
  explicit FlatTableStore(const StoreConfig& config)
      : max_entries_(config.max_entries),
        max_slots_(config.max_entries == 0
                       ? std::size_t{1} << 40
                       : std::max(kMinSlots, std::bit_ceil(std::min<std::size_t>(
                                                 config.max_entries, std::size_t{1} << 39) *
                                             2))) {
    check_entry_bits_layout();
    enable_light_announcements_once();
    table_.store(allocate_table(kMinSlots), std::memory_order_relaxed);
  }

  ~FlatTableStore() override {
    // No operation runs any more: finish a migration left half done, free what waits in
    // the limbo (retired entries and tables), then release every entry still stored.
    Table* table = table_.load(std::memory_order_acquire);
    if (table->next.load(std::memory_order_acquire) != nullptr) {
      help_migration(table, /*until_done=*/true);
      table = table_.load(std::memory_order_acquire);
    }
    for (Stripe& stripe : stripes_) stripe.limbo.drain();
    tables_.drain();
    for (std::size_t i = 0; i < table->size(); ++i) release_slot(table->slot(i));
    release_slot(zero_slot_);
    free_table(table);
  }

  EntryPtr find(const Key& key, Clock::time_point now, RemovedList& removed) override {
    ThisThread self;
    EntryPtr found;
    Cleanup cleanup;
    {
      EpochGuard guard(self.record());
      Pair bits;
      if (lookup(key, now, removed, bits, cleanup)) found = copy_of(bits);
    }
    after_operation(cleanup);
    return found;
  }

  bool visit(const Key& key, Clock::time_point now, RemovedList& removed,
             FunctionRef<void(const EntryPtr&)> read) override {
    ThisThread self;
    ThreadRecord& record = self.record();
    Pair bits;
    bool hit = false;
    Cleanup cleanup;
    bool pinned = false;
    EntryPtr counted;  // when every hazard slot is taken (deeply nested visits)
    {
      EpochGuard guard(record);
      hit = lookup(key, now, removed, bits, cleanup);
      if (hit) {
        if (record.pinned < kHazardsPerThread) {
          // Published by the guard's release on leaving: a reclaim that sees this thread
          // out of its lookup also sees the hazard.
          record.hazards[record.pinned++].store(bits.lo, std::memory_order_relaxed);
          pinned = true;
        } else {
          counted = copy_of(bits);
        }
      }
    }
    after_operation(cleanup);
    if (!hit) return false;
    if (!pinned) {
      read(counted);
      return true;
    }
    struct Unpin {
      ThreadRecord& record;
      ~Unpin() { record.hazards[--record.pinned].store(0, std::memory_order_release); }
    } unpin{record};
    const BorrowedEntry entry(bits);
    read(entry.get());
    return true;
  }

  EntryPtr insert(const Key& key, EntryPtr entry, Clock::time_point now,
                  RemovedList& removed) override {
    if (!entry) throw std::invalid_argument("memo: flat_table cannot store a null entry");
    ThisThread self;
    EntryPtr result;
    Cleanup cleanup;
    {
      EpochGuard guard(self.record());
      result = insert_locked(key, std::move(entry), now, removed, cleanup);
    }
    after_operation(cleanup);
    return result;
  }

  void replace(const Key& key, EntryPtr entry, Clock::time_point now,
               RemovedList& removed) override {
    if (!entry) throw std::invalid_argument("memo: flat_table cannot store a null entry");
    ThisThread self;
    Cleanup cleanup;
    {
      EpochGuard guard(self.record());
      replace_locked(key, std::move(entry), now, removed, cleanup);
    }
    after_operation(cleanup);
  }

  bool erase(const Key& key, const Entry* expected, RemovalCause cause,
             RemovedList& removed) override {
    ThisThread self;
    bool erased = false;
    Cleanup cleanup;
    {
      EpochGuard guard(self.record());
      for (;;) {
        Pair bits;
        Slot* slot = locate(key, bits);
        if (slot == nullptr || !is_live(bits)) break;
        if (expected != nullptr && entry_of(bits) != expected) break;
        if (remove(*slot, key_bits(key), bits, cause, removed, cleanup)) {
          erased = true;
          break;
        }
      }
    }
    after_operation(cleanup);
    return erased;
  }

  void clear(RemovedList& removed) override {
    ThisThread self;
    Cleanup cleanup;
    {
      EpochGuard guard(self.record());
      remove_all_from(zero_slot_, removed, cleanup);
      // Entries present for the whole clear go even if a migration moves them meanwhile:
      // each pass finishes any migration first and sweeps the table it leads to.
      for (;;) {
        Table* table = current_table();
        for (std::size_t i = 0; i < table->size(); ++i) {
          remove_all_from(table->slot(i), removed, cleanup);
        }
        if (table->next.load(std::memory_order_acquire) == nullptr) break;
      }
    }
    (void)cleanup;  // everything below, at once
    for (Stripe& stripe : stripes_) stripe.limbo.reclaim(Limbo::Pace::now);
    reclaim_tables();
  }

  // Bounded: the count. Unbounded: nothing counts on the write path (a shared counter
  // would be the one line every insert and erase contends on), so this counts the live
  // slots, after finishing any migration in progress.
  std::size_t size() const override {
    if (max_entries_ != 0) {
      const std::int64_t n = count_.load(std::memory_order_relaxed);
      return n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    auto& self = const_cast<FlatTableStore&>(*this);
    ThisThread thread;
    std::size_t live = 0;
    {
      EpochGuard guard(thread.record());
      live = live_slots(self.current_table()) + is_live(load_pair(&self.zero_slot_.entry));
    }
    self.after_operation(Cleanup{});
    return live;
  }

  std::string_view name() const override { return "flat_table"; }

 private:
  // ---- reclamation (outside every EpochGuard) ----

  // Retired entries are freed once enough have gathered (one per later removal, or at
  // once when one is large: see Limbo::Pace); a retired table as soon as no reader can
  // be in it. The thread that retired a table tries at the end of its operation; while
  // a table is still waiting, every thread tries once in 256 operations.
  void after_operation(const Cleanup& cleanup) {
    thread_local std::uint32_t operations = 0;
    if (cleanup.reclaim_now) {
      stripe().limbo.reclaim(Limbo::Pace::now);
    } else if (cleanup.reclaim) {
      stripe().limbo.reclaim(Limbo::Pace::spread);
    } else if (cleanup.retired) {
      stripe().limbo.dispose_one_ready();
    }
    if (t_table_retired ||
        (table_waiting_.load(std::memory_order_relaxed) && (++operations & 255) == 0)) {
      reclaim_tables();
    }
  }

  void reclaim_tables() {
    t_table_retired = false;
    table_waiting_.store(false, std::memory_order_relaxed);
    if (tables_.reclaim() > 0) table_waiting_.store(true, std::memory_order_relaxed);
  }

  // The calling thread's stripe (threads are spread over them in creation order).
  Stripe& stripe() {
    const ThreadRecord* record = t_record;
    return stripes_[record != nullptr ? record->index % kStripes : 0];
  }

  void count_removed() {
    if (max_entries_ != 0) count_.fetch_sub(1, std::memory_order_relaxed);
  }

  // ---- lookups (inside an EpochGuard) ----

  // Finds the live entry of `key`, removing it if expired (then a miss); counts a hit
  // as a use. On a hit `bits` holds the entry, protected until the guard is left.
  bool lookup(const Key& key, Clock::time_point now, RemovedList& removed, Pair& bits,
              Cleanup& cleanup) {
    for (;;) {
      Slot* slot = locate(key, bits);
      if (slot == nullptr || !is_live(bits)) return false;
      if (entry_of(bits)->expired(now)) {
        remove(*slot, key_bits(key), bits, RemovalCause::expired, removed, cleanup);
        continue;  // whoever won, look again: the key may hold a newer entry now
      }
      touch(*slot);
      return true;
    }
  }

  // Counts a use for CLOCK. An unbounded store never evicts, so its hits leave the
  // countdown alone: a slot's third 16 bytes can sit on the next cache line.
  void touch(Slot& slot) const {
    if (max_entries_ == 0) return;
    auto meta = meta_of(slot);
    if (meta.load(std::memory_order_relaxed) != kCountdownMax) {
      meta.store(kCountdownMax, std::memory_order_relaxed);
    }
  }

  Table* current_table() {
    Table* table = table_.load(std::memory_order_acquire);
    while (table->next.load(std::memory_order_acquire) != nullptr) {
      help_migration(table, /*until_done=*/true);
      table = table_.load(std::memory_order_acquire);
    }
    return table;
  }

  // Slots of `table` holding an entry (frozen ones excepted: they are being copied).
  static std::size_t live_slots(Table* table) {
    std::size_t live = 0;
    for (std::size_t i = 0; i < table->size(); ++i) {
      const Pair bits = load_pair(&table->slot(i).entry);
      live += is_live(bits) && !is_frozen(bits);
    }
    return live;
  }

  // The slot of `key` in `table`, or null when `key` has none there.
  static Slot* find_slot(Table* table, const Pair& want) {
    const std::size_t mask = table->mask;
    std::size_t i = want.lo & mask;
    for (std::size_t probes = 0; probes <= mask; ++probes, i = (i + 1) & mask) {
      Slot& slot = table->slots()[i];
      const Pair key = load_pair(&slot.key);
      if (key == want) return &slot;
      if (key.lo == 0 && key.hi == 0) return nullptr;
    }
    return nullptr;
  }

  // The slot holding `key`'s current state and its (unfrozen) entry bits, or null when
  // the key has no slot anywhere (absent). Follows a migration by copying the key's
  // frozen slot over first, which makes the new table's slot the current one.
  Slot* locate(const Key& key, Pair& bits) {
    if (is_zero(key)) {
      bits = load_pair(&zero_slot_.entry);
      return &zero_slot_;
    }
    const Pair want = key_bits(key);
    Table* table = table_.load(std::memory_order_acquire);
    for (;;) {
      Slot* slot = find_slot(table, want);
      if (slot != nullptr) {
        bits = load_pair(&slot->entry);
        if (!is_frozen(bits)) return slot;
        Table* next = table->next.load(std::memory_order_acquire);
        copy_slot(next, *slot, bits);
        table = next;
        continue;
      }
      Table* next = table->next.load(std::memory_order_acquire);
      if (next == nullptr) return nullptr;
      table = next;
    }
  }

  // ---- writes (inside an EpochGuard) ----

  EntryPtr insert_locked(const Key& key, EntryPtr entry, Clock::time_point now,
                         RemovedList& removed, Cleanup& cleanup) {
    const Pair want = key_bits(key);
    bool reserved = false;
    for (;;) {
      Pair bits;
      Slot* slot = locate_or_claim(key, bits);
      if (is_live(bits)) {
        if (entry_of(bits)->expired(now)) {
          remove(*slot, want, bits, RemovalCause::expired, removed, cleanup);
          continue;
        }
        if (reserved) release_reservation();
        touch(*slot);  // an insert that meets a live entry counts as a use
        return copy_of(bits);
      }
      if (!reserved) {
        reserved = reserve_or_yield(want, now, removed, cleanup);
        continue;  // either way, look again: time passed and the slot may have changed
      }
      EntryPtr result = entry;
      if (install(*slot, bits, entry)) return result;
    }
  }

  // One compare-and-swap from whatever the slot holds to `entry`: the key is never
  // absent in between, and a displaced entry's unit of capacity passes to `entry`.
  void replace_locked(const Key& key, EntryPtr entry, Clock::time_point now,
                      RemovedList& removed, Cleanup& cleanup) {
    const Pair want = key_bits(key);
    bool reserved = false;
    for (;;) {
      Pair bits;
      Slot* slot = locate_or_claim(key, bits);
      const bool displaces = is_live(bits);
      if (!displaces && !reserved) {
        reserved = reserve_or_yield(want, now, removed, cleanup);
        continue;  // either way, look again: time passed and the slot may have changed
      }
      make_room(removed);  // the report of a displaced entry must not throw after the swap
      if (install(*slot, bits, entry)) {
        if (displaces) {
          if (reserved) release_reservation();
          const RemovalCause cause =
              entry_of(bits)->expired(now) ? RemovalCause::expired : RemovalCause::erased;
          report_and_retire(want, bits, cause, removed, cleanup);
        }
        return;
      }
    }
  }

  // Swaps `entry` into `slot` if the slot still holds `bits`; on failure `entry` is
  // left as it was.
  static bool install(Slot& slot, const Pair& bits, EntryPtr& entry) {
    const Pair owned = leak(std::move(entry));
    Pair expected = bits;
    if (cas_pair(&slot.entry, expected, owned)) {
      meta_of(slot).store(0, std::memory_order_relaxed);  // a new entry starts unused
      return true;
    }
    entry = adopt(owned);
    return false;
  }

  // Takes a unit of capacity for a new entry (reserve()). When every entry is pinned by
  // an insert in flight (max_entries at most the number of racing inserts), one of them
  // may be this key's: yields and returns false, and the caller looks again.
  bool reserve_or_yield(const Pair& want, Clock::time_point now, RemovedList& removed,
                        Cleanup& cleanup) {
    if (reserve(want, now, removed, cleanup)) return true;
    std::this_thread::yield();
    return false;
  }

  // The slot of `key` (claimed now if the key has none) and its unfrozen entry bits.
  Slot* locate_or_claim(const Key& key, Pair& bits) {
    if (is_zero(key)) {
      bits = load_pair(&zero_slot_.entry);
      return &zero_slot_;
    }
    const Pair want = key_bits(key);
    Table* table = table_.load(std::memory_order_acquire);
    for (;;) {
      Slot* slot = claim_slot(table, want);
      if (slot != nullptr) {
        bits = load_pair(&slot->entry);
        if (!is_frozen(bits)) return slot;
        Table* next = table->next.load(std::memory_order_acquire);
        copy_slot(next, *slot, bits);
        if (!is_live(bits)) {
          // The key had no entry: it needs a claim of its own in the new table, which is
          // only made once that table is current (so copies always fit).
          help_migration(table, /*until_done=*/true);
        }
        table = next;
        continue;
      }
      // No slot: the probe met the frozen part of a migrating table, or the table is
      // full. Either way the next table must become current first.
      if (table->next.load(std::memory_order_acquire) == nullptr) start_migration(table);
      help_migration(table, /*until_done=*/true);
      table = table_.load(std::memory_order_acquire);
    }
  }

  // Finds or claims `want`'s slot in `table`. Null when the key has no slot and `table`
  // cannot take a new one: it is migrating or a migration target, or it is full.
  Slot* claim_slot(Table* table, const Pair& want) {
    const std::size_t mask = table->mask;
    std::size_t i = want.lo & mask;
    for (std::size_t probes = 0; probes <= mask; ++probes, i = (i + 1) & mask) {
      Slot& slot = table->slots()[i];
      Pair key = load_pair(&slot.key);
      if (key == want) return &slot;
      if (key.lo != 0 || key.hi != 0) continue;
      if (is_frozen(load_pair(&slot.entry))) return nullptr;
      // New keys go only into a current table that is not migrating: a migration target
      // then takes nothing but copies, which always fit.
      if (table_.load(std::memory_order_acquire) != table ||
          table->next.load(std::memory_order_acquire) != nullptr) {
        return nullptr;
      }
      Pair expected{};
      if (cas_pair(&slot.key, expected, want)) {
        const std::size_t keyed = table->keyed.fetch_add(1, std::memory_order_relaxed) + 1;
        if (4 * keyed >= 3 * table->size()) start_migration(table);
        return &slot;
      }
      if (expected == want) return &slot;
    }
    return nullptr;
  }

  // Unlinks `bits` from `slot` and reports it; false when the slot changed first.
  bool remove(Slot& slot, const Pair& key, Pair bits, RemovalCause cause, RemovedList& removed,
              Cleanup& cleanup) {
    make_room(removed);
    Pair expected = bits;
    if (!cas_pair(&slot.entry, expected, kVacatedBits)) return false;
    count_removed();
    report_and_retire(key, bits, cause, removed, cleanup);
    return true;
  }

  void report_and_retire(const Pair& key, const Pair& bits, RemovalCause cause,
                         RemovedList& removed, Cleanup& cleanup) {
    // (A thread past its exit handler runs on a leased record, not t_record: no shortcut.)
    if (t_record != nullptr && no_other_reader(*t_record, bits.lo)) {
      // The report takes the store's own reference over: no copy, no limbo.
      removed.push_back({Key{key.lo, key.hi}, adopt(bits), cause});
      return;
    }
    removed.push_back({Key{key.lo, key.hi}, copy_of(bits), cause});
    Retired* item = new_retired();
    if (item == nullptr) return;  // out of memory: the store's reference is leaked, never dropped early
    item->bits = bits;
    item->epoch = g_domain.epoch.load(std::memory_order_seq_cst);
    const bool large = entry_of(bits)->bytes() >= kPromptReclaimBytes;
    cleanup.retired = true;
    if (stripe().limbo.push(item)) cleanup.reclaim = true;
    if (large) cleanup.reclaim_now = true;
  }

  void remove_all_from(Slot& slot, RemovedList& removed, Cleanup& cleanup) {
    for (;;) {
      const Pair bits = load_pair(&slot.entry);
      if (!is_live(bits) || is_frozen(bits)) return;
      if (remove(slot, load_pair(&slot.key), bits, RemovalCause::cleared, removed, cleanup)) return;
    }
  }

  // ---- capacity ----

  // Takes one unit of capacity for an entry about to go in, evicting when the store is
  // full (the victim's unit passes to the caller). False when nothing could be evicted.
  bool reserve(const Pair& own, Clock::time_point now, RemovedList& removed, Cleanup& cleanup) {
    if (max_entries_ == 0) return true;
    const auto max = static_cast<std::int64_t>(
        std::min<std::size_t>(max_entries_, std::numeric_limits<std::int64_t>::max()));
    std::int64_t count = count_.load(std::memory_order_relaxed);
    while (count < max) {
      if (count_.compare_exchange_weak(count, count + 1, std::memory_order_relaxed)) return true;
    }
    return evict_one(own, now, removed, cleanup);
  }

  void release_reservation() { count_removed(); }

  // CLOCK: the hand sweeps the slots in table order, counting each live entry's
  // countdown down; the first entry found at 0 goes, unless it is the inserting key's.
  bool evict_one(const Pair& own, Clock::time_point now, RemovedList& removed, Cleanup& cleanup) {
    Table* table = current_table();
    // Enough steps for every countdown to reach 0 once over, plus the zero slot.
    const std::size_t budget = (kCountdownMax + 2) * (table->size() + kSweepBatch);
    for (std::size_t step = 0; step < budget; step += kSweepBatch) {
      const std::uint64_t start = hand_.fetch_add(kSweepBatch, std::memory_order_relaxed);
      for (std::size_t j = 0; j < kSweepBatch; ++j) {
        const std::uint64_t position = start + j;
        if ((position & table->mask) == 0 && try_evict(zero_slot_, own, now, removed, cleanup)) {
          return true;
        }
        Slot& slot = table->slot(position);
        if (try_evict(slot, own, now, removed, cleanup)) return true;
      }
      if (table->next.load(std::memory_order_acquire) != nullptr) table = current_table();
    }
    return false;
  }

  bool try_evict(Slot& slot, const Pair& own, Clock::time_point now, RemovedList& removed,
                 Cleanup& cleanup) {
    const Pair bits = load_pair(&slot.entry);
    if (!is_live(bits) || is_frozen(bits)) return false;
    auto meta = meta_of(slot);
    std::uint64_t countdown = meta.load(std::memory_order_relaxed);
    if (countdown != 0) {
      meta.compare_exchange_weak(countdown, countdown - 1, std::memory_order_relaxed);
      return false;
    }
    // An insert never evicts its own key's entry: racing inserts must agree on one winner.
    const Pair key = &slot == &zero_slot_ ? Pair{} : load_pair(&slot.key);
    if (key == own) return false;
    make_room(removed);
    Pair expected = bits;
    if (!cas_pair(&slot.entry, expected, kVacatedBits)) return false;
    // The victim's unit of capacity passes to the caller: count_ stays.
    const RemovalCause cause =
        entry_of(bits)->expired(now) ? RemovalCause::expired : RemovalCause::evicted;
    report_and_retire(key, bits, cause, removed, cleanup);
    return true;
  }

  // ---- migration ----

  void start_migration(Table* table) {
    if (table->next.load(std::memory_order_acquire) != nullptr) return;
    if (table_.load(std::memory_order_acquire) != table) return;  // one migration at a time
    // Never smaller, so that every slot of the old table has room in the new one. Grow
    // when live entries fill more than 3/8 of the slots; else only the keys of removed
    // entries are dropped.
    std::size_t slots = table->size();
    // Bounded: the count. Unbounded: a pass over the slots, no dearer than the copy.
    const std::size_t live =
        max_entries_ != 0 ? static_cast<std::size_t>(std::max<std::int64_t>(0, count_.load()))
                          : live_slots(table);
    if (8 * live >= 3 * slots && slots < max_slots_) slots *= 2;
    Table* fresh = allocate_table(slots);
    Table* none = nullptr;
    if (!table->next.compare_exchange_strong(none, fresh, std::memory_order_acq_rel)) {
      free_table(fresh);
    }
  }

  // Copies chunks of `table` into its successor. Until done: also redoes chunks other
  // threads took but have not finished (copying is idempotent), so that no thread ever
  // waits for a stalled one; returns when `table` is no longer current.
  void help_migration(Table* table, bool until_done) {
    Table* next = table->next.load(std::memory_order_acquire);
    if (next == nullptr) return;
    const std::size_t chunks = table->chunks();
    for (;;) {
      const std::size_t chunk = table->next_chunk.fetch_add(1, std::memory_order_relaxed);
      if (chunk >= chunks) break;
      migrate_chunk(table, next, chunk);
    }
    if (!until_done) return;
    for (std::size_t chunk = 0; chunk < chunks; ++chunk) {
      if (table_.load(std::memory_order_acquire) != table) return;
      if (table->chunk_done(chunk).load(std::memory_order_acquire) == 0) {
        migrate_chunk(table, next, chunk);
      }
    }
  }

  void migrate_chunk(Table* table, Table* next, std::size_t chunk) {
    const std::size_t begin = chunk * kChunkSlots;
    const std::size_t end = std::min(begin + kChunkSlots, table->size());
    for (std::size_t i = begin; i < end; ++i) {
      Slot& slot = table->slots()[i];
      Pair bits = load_pair(&slot.entry);
      while (!is_frozen(bits)) {
        Pair frozen{bits.lo, bits.hi | kFrozen};
        if (cas_pair(&slot.entry, bits, frozen)) {
          bits = frozen;
          break;
        }
      }
      copy_slot(next, slot, bits);
    }
    std::uint8_t not_done = 0;
    if (table->chunk_done(chunk).compare_exchange_strong(not_done, 1, std::memory_order_acq_rel) &&
        table->chunks_done.fetch_add(1, std::memory_order_acq_rel) + 1 == table->chunks()) {
      finish_migration(table, next);
    }
  }

  // Moves a frozen slot's entry into `next`; every copy after the first finds the target
  // no longer virgin and does nothing, so a late copy never resurrects an entry that was
  // removed from `next` meanwhile. The reference moves with the bits: the old table's
  // copy of them is never released.
  void copy_slot(Table* next, Slot& slot, const Pair& frozen_bits) {
    if (!is_live(frozen_bits)) return;
    const Pair key = load_pair(&slot.key);
    Slot* target = find_slot(next, key);
    if (target == nullptr) target = claim_copy_slot(next, key);
    Pair virgin{};
    if (cas_pair(&target->entry, virgin, untagged(frozen_bits))) {
      meta_of(*target).store(meta_of(slot).load(std::memory_order_relaxed), std::memory_order_relaxed);
    }
  }

  // Claims `key`'s slot in a migration target. Always succeeds: the target has at least
  // as many slots as the table being copied, and takes no other claims until current.
  static Slot* claim_copy_slot(Table* next, const Pair& key) {
    const std::size_t mask = next->mask;
    std::size_t i = key.lo & mask;
    for (;; i = (i + 1) & mask) {
      Slot& slot = next->slots()[i];
      Pair seen = load_pair(&slot.key);
      if (seen == key) return &slot;
      if (seen.lo != 0 || seen.hi != 0) continue;
      Pair expected{};
      if (cas_pair(&slot.key, expected, key) || expected == key) {
        if (expected.lo == 0 && expected.hi == 0) next->keyed.fetch_add(1, std::memory_order_relaxed);
        return &slot;
      }
    }
  }

  void finish_migration(Table* table, Table* next) {
    Table* expected = table;
    table_.compare_exchange_strong(expected, next, std::memory_order_acq_rel);
    Retired* item = new_retired();
    if (item == nullptr) return;  // out of memory: the old table is leaked
    item->block = table;
    item->release_block = &free_table;
    item->epoch = g_domain.epoch.load(std::memory_order_seq_cst);
    tables_.push(item);
    table_waiting_.store(true, std::memory_order_relaxed);
    t_table_retired = true;
  }

  static void release_slot(Slot& slot) {
    const Pair bits = load_pair(&slot.entry);
    if (is_live(bits) && !is_frozen(bits)) adopt(bits);
  }

  const std::size_t max_entries_;
  const std::size_t max_slots_;
  alignas(64) std::atomic<Table*> table_{nullptr};
  std::atomic<bool> table_waiting_{false};  // a retired table is still in the limbo
  // The entry of the all-zero key, which a table cannot hold (all zeroes mark an
  // unclaimed slot). Never frozen: migrations do not concern it.
  Slot zero_slot_{};
  // Bounded: live entries plus units reserved by inserts in flight, never above
  // max_entries. Unbounded stores count in their stripes instead.
  alignas(64) std::atomic<std::int64_t> count_{0};
  alignas(64) std::atomic<std::uint64_t> hand_{0};
  Stripe stripes_[kStripes];
  Limbo tables_;  // retired tables
};

}  // namespace

std::unique_ptr<Store> make_flat_table_store(const StoreConfig& config) {
  return std::make_unique<FlatTableStore>(config);
}

}  // namespace memo
