// cds_map: libcds's lock-free FeldmanHashSet (a multi-level hash trie) with hazard
// pointers, plus a CLOCK ring for max_entries.
//
// Choose it when threads outnumber cores or may be preempted: find, insert and erase
// never wait for another thread, so a descheduled thread stalls nobody (mutex_map and
// tbb_map can stall everyone, or everyone on one key). It pays for that with more
// atomic operations per call than a locked map when nothing contends.
//
// Why FeldmanHashSet (over SplitListMap and MichaelHashMap):
//   - its node-level primitives are exactly the Store contract: insert is a CAS of an
//     empty slot (first writer wins), unlink(node) is a CAS of that very node to empty
//     (conditional erase; the one CAS that succeeds decides who reports the entry);
//   - its iterators are safe beside concurrent writers (clear() needs that; Michael's
//     list iterators are documented as debug-only under concurrency);
//   - no rehash pauses and no bucket-count guess (MichaelHashMap's table is fixed at
//     construction; SplitList grows by CAS but adds dummy nodes to every walk);
//   - its one limit, that two keys with equal hashes cannot coexist, does not bite:
//     the trie is indexed by the whole 128-bit Key, so equal "hashes" are equal keys.
//
// Concurrency guarantee: all operations are thread safe and linearizable per key;
//   find, insert and erase are lock-free except that an insert into a full bounded
//   store waits (yielding) while no frame can be had: every frame held by an
//   in-flight insert or removal, or by the inserting key itself. clear() is not atomic (as the contract allows):
//   it walks the trie with a safe iterator and unlinks each node; entries present for
//   the whole clear are removed, inserts racing with it may survive.
// Removal decision: every removal (erase, expiry, eviction, clear) is unlink(node);
//   only the thread whose unlink succeeds reports the entry, so each entry is reported
//   exactly once. Nodes are immutable, so a find copies the entry under nothing but
//   its hazard pointer.
// Entry lifetime: an unlinked node, and with it the store's reference to its entry,
//   is freed by a hazard-pointer scan, not at once: libcds keeps it in the retired
//   buffer of the thread that unlinked it, and scans that buffer every 2 * 8 * 256
//   retirements (and at thread exit). The removal is reported at once all the same, so
//   on_release is not delayed -- only the Entry's destructor. Two exceptions keep memory
//   in check: removing an entry of 1 MiB or more (Entry::bytes()) scans before the
//   operation returns (a reader that still guards the node delays it to the next scan),
//   and destroying the store drops every entry it still references before the
//   destructor returns, wherever its node waits -- in the trie, or unlinked in the
//   retired buffer of any thread, running or exited. libcds cannot scan another live
//   thread's buffer, so the store keeps its own ledger of the nodes it unlinked until
//   libcds disposes of them; the destructor takes the entry out of each node still
//   waiting (or, if another thread is disposing of that node right now, waits for it).
//   The node's own memory (48 bytes) is then freed by libcds's later scan of that
//   buffer, which touches nothing of the destroyed store.
// Eviction policy (max_entries > 0): CLOCK over a ring of max_entries frames, as in
//   tbb_map (core/src/stores/clock_frames.h): find and an insert that meets a live
//   entry set its reference bit; an insert with no free frame sweeps the hand,
//   clearing bits and evicting the first entry whose bit is clear. An insert never
//   evicts its own key's entry (racing inserts of one key must agree on the winner);
//   an expired entry of its key is removed first, freeing its frame.
// Invariants: size() <= max_entries at all times; each stored node owns a distinct
//   frame; when quiescent, size() equals the number of nodes in the trie.
// Threads and memory reclamation (libcds facts this engine takes care of):
//   - libcds is initialised, and the hazard-pointer GC (cds::gc::HP) constructed, on
//     first use, by a function-local static that is deliberately never destroyed: a
//     store may be destroyed during static destruction, after any GC owned by a static
//     would be gone. The GC is sized for 256 simultaneously attached threads (libcds's
//     default is 100; the stress tests run 64 workers beside main; 300 attached at
//     once were tried and work) and 8 hazard pointers per thread (this engine holds
//     at most 3).
//   - under ThreadSanitizer, libcds's own synchronisation is invisible (the library
//     is not instrumented); tests/support/tsan.supp silences reports inside cds::.
//   - every operation attaches its thread on first use; a thread_local guard detaches
//     it at thread exit. Operations that run after that guard is gone (static
//     destructors) attach for their own duration only, and so does the destructor,
//     because libcds requires containers to be destroyed by an attached thread.
//   - a program that also uses libcds directly shares the one GC; if it constructs
//     cds::gc::HP first, that GC's limits apply.
// Costs: per operation a trie descent (an 8-bit head array, then 4-bit levels: about
//   4 levels for a million keys) with hazard-pointer publication, and a shared_ptr copy
//   on a hit. A removal adds a ledger ticket (a 24-byte allocation, pushed with one
//   CAS) and, amortised, O(1) of the ledger's compaction, which frees the tickets of
//   nodes libcds has disposed of.
//   Per entry: one node (48 bytes); when bounded, a 24-byte frame, allocated as entries
//   arrive (core/src/stores/clock_frames.h: at most twice the largest number of
//   entries held at once, never more than max_entries), not for the whole bound up
//   front. Removed nodes wait for the next scan (see Entry lifetime), their tickets
//   until the compaction after that.
// Limits: the GC is sized for 256 simultaneously attached threads (libcds attaches
//   more, but its per-thread retired buffers are sized for that count); max_entries
//   below 2^32 - 1 (a larger bound is refused with std::length_error).
#pragma once

#include <memory>

#include "memo/store.h"

namespace memo {

std::unique_ptr<Store> make_cds_map_store(const StoreConfig& config);

}  // namespace memo
