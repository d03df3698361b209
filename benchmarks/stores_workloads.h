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

struct Workload {
  std::string name;
  Level level;
  KeyPick keys;
  double replace_fraction;  // the rest are gets
  bool bounded;             // capacity = 10% of the keys; a miss inserts (get-then-put)
  bool latency;             // sample per-operation latency (p50/p99/p999)
};

// read_heavy_{zipf,uniform} (95% get / 5% replace), mixed_{zipf,uniform} (50/50),
// eviction_{zipf,uniform}, hot_key (every thread gets one key), and the resource_*
// workloads (the same operations through cache_resource; replace = clear(args) + call).
const std::vector<Workload>& all_workloads();

inline constexpr std::uint32_t kReplaceBit = 1u << 31;
inline constexpr std::uint32_t kIndexMask = kReplaceBit - 1;
// Eight operations per key, from 64k up to 8M (32 MiB per workload, reached at the
// default 1M keys): longer than what one run of 0.2 s consumes, so a run never wraps
// around onto itself; small smoke runs get small streams and start in milliseconds.
std::size_t stream_length(std::uint32_t keys);

// Each op: a key index (low 31 bits), kReplaceBit set for a replace.
std::vector<std::uint32_t> make_op_stream(const Workload& workload, std::uint32_t keys,
                                          double zipf_exponent, std::uint64_t seed);

// The stored key of index i: a well-mixed 128-bit value, like the XXH3 digests the
// cache layer makes, so engines see realistic hashes.
std::vector<memo::Key> make_keys(std::uint32_t count, std::uint64_t seed);

}  // namespace memo_bench
