// 16-byte atomics and shared_ptr bits for flat_table (internal to the memo library).
//
// flat_table keeps two 16-byte values per slot that must change as one: the key (claimed
// once per table by a compare-and-swap from all zeroes) and the entry (a std::shared_ptr
// kept as its two machine words). Both are read with one 16-byte atomic load and written
// with one 16-byte compare-and-swap (x86-64: movdqa / lock cmpxchg16b).
//
// Why a 16-byte load is atomic here: Intel and AMD guarantee that aligned 16-byte SSE
// loads are atomic on every processor that supports AVX (Intel SDM vol. 3A 9.1.1; AMD
// APM vol. 2 7.3.2; GCC's libatomic relies on the same guarantee). Processors without
// AVX use lock cmpxchg16b to read, which is atomic but writes the line; the choice is
// made once per process. Under ThreadSanitizer every access goes through the __atomic
// builtins instead, which TSan models as 16-byte atomics.
//
// Entry bits: a std::shared_ptr<const Entry> is two words, the object pointer and the
// control-block pointer (libstdc++ and libc++ alike). The store owns an entry by
// holding those words in a slot without running the shared_ptr's destructor (leak()),
// gives the reference back by rebuilding the shared_ptr (adopt()), and lets a reader
// see the entry as a `const EntryPtr&` without touching the reference count
// (BorrowedEntry): the bit copy is valid as long as the store's own reference is
// alive, which the reclamation protocol (flat_table_reclaim.h) guarantees for the
// reader's whole call. A copy the reader makes of it is an ordinary counted copy.
// check_entry_bits_layout() verifies the two-word layout on first use.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

#if defined(__SANITIZE_THREAD__)
#define MEMO_FLAT_TABLE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MEMO_FLAT_TABLE_TSAN 1
#endif
#endif

#if defined(__x86_64__) && !defined(MEMO_FLAT_TABLE_TSAN)
#include <emmintrin.h>
#endif

#include "memo/store.h"

namespace memo::flat_table_detail {

// A 16-byte value read and compared-and-swapped as one. `lo` is at the lower address.
struct alignas(16) Pair {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  friend bool operator==(const Pair&, const Pair&) = default;
};

#if !defined(MEMO_FLAT_TABLE_TSAN) && !defined(__x86_64__)
#error "flat_table needs x86-64 (16-byte atomics) outside ThreadSanitizer builds"
#endif

#if defined(MEMO_FLAT_TABLE_TSAN)

inline Pair load_pair(const Pair* p) {
  unsigned __int128 v = __atomic_load_n(reinterpret_cast<const unsigned __int128*>(p),
                                        __ATOMIC_SEQ_CST);
  return {static_cast<std::uint64_t>(v), static_cast<std::uint64_t>(v >> 64)};
}

// On failure `expected` receives the value found.
inline bool cas_pair(Pair* p, Pair& expected, Pair desired) {
  auto e = (static_cast<unsigned __int128>(expected.hi) << 64) | expected.lo;
  const auto d = (static_cast<unsigned __int128>(desired.hi) << 64) | desired.lo;
  const bool done = __atomic_compare_exchange_n(reinterpret_cast<unsigned __int128*>(p), &e, d,
                                                false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  if (!done) expected = {static_cast<std::uint64_t>(e), static_cast<std::uint64_t>(e >> 64)};
  return done;
}

#else

// lock cmpxchg16b: a full barrier, like every locked instruction on x86-64.
inline bool cas_pair(Pair* p, Pair& expected, Pair desired) {
  bool done;
  __asm__ __volatile__("lock cmpxchg16b %1"
                       : "=@ccz"(done), "+m"(*p), "+a"(expected.lo), "+d"(expected.hi)
                       : "b"(desired.lo), "c"(desired.hi)
                       : "memory");
  return done;
}

// Set once, before any store exists (see flat_table.cpp): whether aligned 16-byte SSE
// loads are atomic on this processor.
extern bool g_sse_loads_are_atomic;

inline Pair load_pair(const Pair* p) {
  if (__builtin_expect(g_sse_loads_are_atomic, 1)) {
    __m128i v;
    // One instruction, so the load cannot be split; "memory" keeps it in program order
    // (x86 loads are not reordered with other loads).
    __asm__ __volatile__("movdqa %1, %0" : "=x"(v) : "m"(*p) : "memory");
    return {static_cast<std::uint64_t>(_mm_cvtsi128_si64(v)),
            static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v)))};
  }
  Pair seen{};
  cas_pair(const_cast<Pair*>(p), seen, seen);
  return seen;
}

#endif

// ---- entry bits --------------------------------------------------------------------

// The entry half of a slot: `lo` the Entry pointer, `hi` the control-block pointer with
// two tag bits (control blocks are at least 8-aligned, so the low bits are free).
inline constexpr std::uint64_t kFrozen = 1;    // the slot is being moved to a new table
inline constexpr std::uint64_t kVacated = 2;   // held an entry in this table, holds none
inline constexpr std::uint64_t kTagMask = 3;

inline bool is_frozen(const Pair& bits) { return (bits.hi & kFrozen) != 0; }
inline bool is_live(const Pair& bits) { return bits.lo != 0; }
inline const Entry* entry_of(const Pair& bits) { return reinterpret_cast<const Entry*>(bits.lo); }
inline Pair untagged(const Pair& bits) { return {bits.lo, bits.hi & ~kTagMask}; }

static_assert(sizeof(EntryPtr) == sizeof(Pair) && alignof(EntryPtr) <= alignof(Pair),
              "flat_table keeps a std::shared_ptr as two machine words");

// Gives up `entry`'s reference without releasing it: the bits now own it.
inline Pair leak(EntryPtr&& entry) {
  alignas(EntryPtr) unsigned char storage[sizeof(EntryPtr)];
  ::new (static_cast<void*>(storage)) EntryPtr(std::move(entry));
  Pair bits;
  std::memcpy(&bits, storage, sizeof bits);
  return bits;
}

// Takes back the reference owned by `bits` (tags cleared).
inline EntryPtr adopt(Pair bits) {
  bits = untagged(bits);
  alignas(EntryPtr) unsigned char storage[sizeof(EntryPtr)];
  std::memcpy(storage, &bits, sizeof bits);
  EntryPtr* owned = std::launder(reinterpret_cast<EntryPtr*>(storage));
  EntryPtr out = std::move(*owned);
  owned->~EntryPtr();  // empty after the move: releases nothing
  return out;
}

// The entry of `bits` seen as an EntryPtr, without a reference of its own: valid only
// while the reference that `bits` stands for is kept alive by someone else. Never
// destroyed (that would release a reference it does not own).
class BorrowedEntry {
 public:
  explicit BorrowedEntry(Pair bits) {
    bits = untagged(bits);
    std::memcpy(storage_, &bits, sizeof bits);
  }
  BorrowedEntry(const BorrowedEntry&) = delete;
  BorrowedEntry& operator=(const BorrowedEntry&) = delete;

  const EntryPtr& get() const { return *std::launder(reinterpret_cast<const EntryPtr*>(storage_)); }

 private:
  alignas(EntryPtr) unsigned char storage_[sizeof(EntryPtr)];
};

// A counted copy of the entry `bits` owns.
inline EntryPtr copy_of(Pair bits) { return BorrowedEntry(bits).get(); }

// Throws std::logic_error unless std::shared_ptr is laid out as leak()/adopt() assume:
// the object pointer in the first word, a non-null control block in the second.
void check_entry_bits_layout();

}  // namespace memo::flat_table_detail
