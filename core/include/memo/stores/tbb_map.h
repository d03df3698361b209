// tbb_map: oneTBB's concurrent_hash_map with per-element reader-writer locks, plus a
// CLOCK ring for max_entries.
//
// Choose it for read-heavy work on many threads where a lock per element (not per
// map) is enough: finds of different keys never contend, finds of one key share a
// reader lock. Prefer sharded_lru when exact-within-shard LRU matters, cds_map when a
// preempted thread must never block others.
//
// Concurrency guarantee: all operations are thread safe and linearizable per key.
//   find takes the element's reader lock (a const_accessor); insert, erase and expiry
//   take its writer lock (an accessor). A thread never holds two accessors at once
//   (TBB deadlocks on a second accessor to an element the thread already holds), so
//   an insert that must evict first acquires its frame -- evicting another key under
//   that key's own accessor -- before it takes the accessor on its own key.
//   clear() is atomic here (stronger than the Store contract): concurrent_hash_map
//   can be neither iterated nor cleared beside other operations, so every operation
//   passes a striped reader gate and clear() closes it (core/src/stores/clear_gate.h),
//   reports every entry and clears the map alone.
// Removal decision: only writer-accessor holders remove elements (never erase(key)),
//   so the holder's erase(accessor) is the one and only removal of that element and
//   the holder reports it.
// Eviction policy (max_entries > 0): CLOCK, an approximation of LRU. Each stored
//   entry owns one frame of a ring of max_entries frames
//   (core/src/stores/clock_frames.h); find and an insert that meets a live entry set
//   the entry's reference bit; an insert with no free frame sweeps the hand, clearing
//   set bits and evicting the first entry whose bit is clear. New entries start with
//   the bit clear. An insert never evicts its own key's entry (racing inserts of one
//   key must agree on the winner); an expired entry of its key is removed first,
//   freeing its frame. See tests/store_hit_ratio_test.cpp for its gap to exact LRU.
//   Inserts evict before they look under their own writer lock, so an insert that
//   loses a race to another insert of its key may have evicted for nothing.
// Invariants: size() <= max_entries at all times (an entry is counted only while it
//   owns a frame); every stored entry owns a distinct frame; when quiescent, size()
//   equals the number of elements in the map.
// Under ThreadSanitizer the map uses std::allocator instead of TBB's scalable
//   allocator (uninstrumented; TSan would report its memory reuse as races).
// Costs: per operation, the gate (two uncontended atomic RMWs) plus TBB's bucket and
//   element locks; per entry, TBB's node (~64 bytes) and, when bounded, a 24-byte
//   frame. Frames are allocated in growing chunks as entries arrive: at most twice the
//   largest number of entries held at once, never more than max_entries, so a store
//   with a large bound that holds a few entries costs a few entries' worth.
// Limits: a thread preempted while holding an element's writer lock stalls every
//   operation on that key; clear() waits for all operations in flight and blocks new
//   ones while it runs; max_entries must be below 2^32 - 1 (a larger bound is refused
//   with std::length_error).
#pragma once

#include <memory>

#include "memo/store.h"

namespace memo {

std::unique_ptr<Store> make_tbb_map_store(const StoreConfig& config);

}  // namespace memo
