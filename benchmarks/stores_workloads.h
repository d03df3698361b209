// The workloads of memo_stores and the key/operation streams they replay.
//
// Every stream is generated before any timed region, from a fixed seed, so every
// engine replays the same operations. Runs consume a workload's stream as one
// sequence: in a run of T threads doing n operations each, thread i takes the i-th
// block of n operations after the point where the previous run stopped. An operation
// is therefore replayed only after the whole stream has gone by (8 operations per
// key, 80 times the eviction workloads' capacity), however the scheduler orders the
// threads. Reading overlapping stretches instead (Caffeine's shared array with
// per-thread offsets) lets a thread hit keys another thread has just inserted when
// the scheduler runs them one after the other, as it does with 64 threads on 2 cores,
// and inflates the eviction workloads' hit ratio.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "memo/key.h"

namespace memo_bench {

enum class Level {
  engine,    // raw engine operations through the Engine facade (memo::Store or a peer)
  resource,  // a memo::cache_resource call: argument hashing + single-flight lookup + pin
};

enum class KeyPick { zipf, uniform, single };

// What one operation does to its key.
enum class Op : std::uint32_t {
  get = 0,      // look up; in a bounded workload, insert on a miss (the cache's pattern)
  replace = 1,  // make a fresh entry the stored one (engine.h)
  insert = 2,   // add a fresh entry unless one is present
  erase = 3,    // remove the key's entry
};

struct Workload {
  std::string name;
  Level level;
  KeyPick keys;
  // Fractions of the operations; the rest are gets.
  double replace_fraction;
  double insert_fraction;
  double erase_fraction;
  bool bounded;          // capacity < keys; a get that misses inserts (get-then-put)
  bool latency;          // sample per-operation latency (percentiles, max, histogram)
  std::size_t capacity;  // bounded: entries the engine may hold; 0 = 10% of the keys
  bool custom;           // made from --mix (stores_run.cpp checks it less strictly)

  // No operation ever removes a key's entry for good: every prefilled key stays present.
  bool keeps_every_key() const { return !bounded && erase_fraction == 0; }
};

// read_heavy_{zipf,uniform} (95% get / 5% replace), mixed_{zipf,uniform} (50/50),
// eviction_{zipf,uniform}, hot_key (every thread gets one key), and the resource_*
// workloads (the same operations through cache_resource; replace = clear(args) + call).
const std::vector<Workload>& all_workloads();

// A workload of the user's mix (--mix=GET,INSERT,ERASE percentages) over `keys` picked
// by zipf or uniform; bounded when `capacity` is not 0. Throws std::invalid_argument on a
// mix that is not three percentages summing to 100.
Workload custom_workload(const std::string& mix, KeyPick keys, std::size_t capacity);

// An op: its key index in the low 30 bits, its Op in the top two.
inline constexpr std::uint32_t kOpShift = 30;
inline constexpr std::uint32_t kIndexMask = (1u << kOpShift) - 1;
inline Op op_of(std::uint32_t op) { return static_cast<Op>(op >> kOpShift); }
// Eight operations per key, from 64k up to 8M (32 MiB per workload, reached at the
// default 1M keys): longer than what one run of 0.2 s consumes, so a run never wraps
// around onto itself; small smoke runs get small streams and start in milliseconds.
std::size_t stream_length(std::uint32_t keys);

std::vector<std::uint32_t> make_op_stream(const Workload& workload, std::uint32_t keys,
                                          double zipf_exponent, std::uint64_t seed);

// The stored key of index i: a well-mixed 128-bit value, like the XXH3 digests the
// cache layer makes, so engines see realistic hashes.
std::vector<memo::Key> make_keys(std::uint32_t count, std::uint64_t seed);

}  // namespace memo_bench
