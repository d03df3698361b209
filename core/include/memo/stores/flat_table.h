// flat_table: memo's own lock-free store, built around its 16-byte keys. An open-
// addressing table of 48-byte slots, each holding the whole key, the entry and one CLOCK
// word; lookups are protected by epochs and hazard pointers, so a hit writes no shared
// memory.
//
// Choose it for caches hit by many threads, and whenever a thread that is preempted
// (more threads than cores) must not hold up the others: no operation ever waits for
// another thread.
//
// Concurrency guarantee: all operations are thread safe and linearizable per key.
//   find and visit are wait-free but for following a migration (then lock-free); insert
//   and erase are lock-free. The one exception: a bounded insert that finds the store
//   full while every other unit of capacity is reserved by an insert still in flight
//   (only possible when max_entries is at most the number of racing inserts) yields
//   until one of those lands. clear() is not atomic (as the Store contract allows): it
//   sweeps the slots; entries present for the whole clear go, racing inserts may stay.
// Hit path: visit() announces the thread in its own cache-line record (a plain store
//   while the thread is the only one using flat_tables and the kernel offers membarrier,
//   else one locked exchange: see Entry lifetime), probes the key's slot
//   (one 16-byte load of the key, one of the entry, usually in one cache line), raises
//   the slot's CLOCK countdown only if it is not at its maximum already (bounded stores
//   only: an unbounded one never evicts, so it never reads the countdown), publishes the
//   entry's address in the record's hazard slot and leaves the epoch; the caller's
//   function then runs with the entry pinned by that hazard, outside the lookup, and may
//   call the store again. No reference count is touched: the function receives the
//   store's own shared_ptr words as a `const EntryPtr&` (copying it makes an ordinary
//   counted reference). find() returns a counted copy.
// Slots and states: a slot's key is claimed once per table by a 16-byte compare-and-swap
//   from all zeroes (the all-zero key is kept beside the table) and never changes after,
//   so racing inserts of one key always meet in one slot. The entry half is the
//   shared_ptr's two words, swapped in and out by a 16-byte compare-and-swap: that one
//   instruction decides first-writer-wins inserts, erases, expiry and eviction, and the
//   thread whose swap removed an entry reports it, exactly once.
// Eviction policy (max_entries > 0): CLOCK with a 2-bit countdown per slot, swept in
//   table order by a shared hand. A new entry starts at 0; a hit (find, visit, or an
//   insert that meets the entry) raises it to 3; the hand lowers it by one per pass and
//   evicts an entry it finds at 0. Entries hit often survive up to three passes, one-off
//   entries none, which on skewed traces keeps more than exact LRU does
//   (tests/store_hit_ratio_test.cpp prints the figures). An insert never evicts its own
//   key's entry (racing inserts of one key must agree on the winner).
// Capacity: a bounded store counts live entries plus units reserved by inserts in flight;
//   an insert reserves a unit before its entry becomes visible, taking the unit of an
//   evicted entry when the store is full, so size() <= max_entries at every instant and
//   exactly max_entries distinct keys fit before the first eviction. An unbounded store
//   counts nothing on the write path (one shared counter would be the line every insert
//   and erase contends on): its size() counts the live slots.
// Growth and migration: the table starts at 16 slots and is replaced when 3/4 of its
//   slots carry keys: by one twice as large when live entries fill 3/8 of it (up to
//   2 x max_entries, rounded up to a power of two, when bounded), else by one of the
//   same size, which drops the keys of removed entries. Readers never stop: threads
//   copy the old table in chunks of 256 slots, freezing each slot (a tag bit in its
//   entry words) before copying it; an operation that meets a frozen slot copies that
//   slot itself and carries on in the new table, and an insert of a new key helps finish
//   the migration, redoing chunks other threads took but did not finish, so a stalled
//   thread never holds it up. Tables never shrink. No memory is reserved for max_entries
//   up front: a store bounded at two billion entries that holds three has 16 slots.
// Entry lifetime: an entry that leaves the store is reported at once (its on_release is
//   not delayed), but the store's own reference waits in a limbo until no reader can
//   still see it: the first reclaim after every lookup that began before the removal has
//   finished, and no visit() function pins it, finds it free. It is dropped then, or --
//   after a reclaim that a removal's threshold triggered -- by one of the thread's next
//   removals, which drop one such reference each: one free per allocation, as with a
//   locked map, rather than a batch that overflows the allocator's per-thread cache and
//   leaves later allocations walking cold chunks. Reclaims run when a
//   thread's stripe of the limbo has gathered 32 references and a millisecond has passed
//   since its last reclaim, or 1024, while a thread announces with a plain store (each
//   such reclaim runs membarrier, which interrupts every other running thread of the
//   process: under a hypervisor a VM exit on both sides); else max(32, 2 x threads that
//   used any flat_table), with no membarrier. A thread announces with a plain store
//   only while it is the only one holding a flat_table thread record, and switches
//   itself at its next operation once another thread takes one (or gives its last one
//   back); a thread that has no next operation (one that filled a store alone, then
//   waits for its workers) is switched by the first reclaim that finds company, so its
//   workers never pay for membarrier. Reclaims also run, and drop what they find free at
//   once, when an entry of 1 MiB or more (Entry::bytes()) is removed, in clear(), and in
//   the destructor, which drops every reference before it returns.
//   When the removing thread is the only one that holds a flat_table thread record (a
//   single-threaded program, or the only thread using any flat_table) and does not pin
//   the entry itself, no reader can see it: the report takes the store's reference over
//   and nothing waits in the limbo.
//   Retired tables are freed the same way, as soon as no reader can be in them.
// Invariants: a key has at most one slot per table, and its state is in the newest table
//   that has a slot for it; an entry is owned by exactly one slot or limbo item; live
//   entries <= count <= max_entries (bounded); size() is exact when quiescent.
// Costs: find/visit: one or two cache lines of the table plus the thread's own record;
//   no atomic read-modify-write on shared memory on a hit (the announcement's locked
//   exchange, with several threads, is on the thread's own line), one relaxed store the
//   first time an entry of a bounded store is hit after a pass of the hand. insert: a 16-byte
//   compare-and-swap on the slot (plus, bounded, one on the count); erase: the same, a
//   counted copy for the report, a 32-byte limbo item pushed onto the thread's stripe and
//   an earlier removal's reference dropped (none of these for a thread alone, which
//   hands the store's reference to the report). size():
//   O(1) bounded, O(slots) unbounded. Memory: 48 bytes per slot, 1/4 to 3/4 of the slots in
//   use (about 64-190 bytes per entry beside the entry itself); tables of 1 MiB and more
//   are mapped directly and, from 4 MiB, offered transparent huge pages, so a random probe
//   into a large table costs no page walk. Per store: about 1 KiB beside its table.
// Limits: x86-64 only (16-byte compare-and-swap; 16-byte loads are atomic on every CPU
//   with AVX, older ones read with a locked instruction); std::shared_ptr must be the
//   usual two words (checked when the first store is made; a different layout is a
//   std::logic_error, never silent). A thread stalled inside a lookup (not inside a
//   visit() function, which pins only its entry) delays the freeing of entries removed
//   meanwhile from every flat_table, never an operation. Nested visit() calls deeper than
//   five on one thread hand the function a counted copy instead.
#pragma once

#include <memory>

#include "memo/store.h"

namespace memo {

std::unique_ptr<Store> make_flat_table_store(const StoreConfig& config);

}  // namespace memo
