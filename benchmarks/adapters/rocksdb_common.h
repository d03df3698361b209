// What the two RocksDB adapters share: key slices, the payload deleter, sizing.
//
// Both caches count capacity in entries: every entry is charged 1 and metadata is not
// charged (kDontChargeCacheMetadata), so "capacity 100k" means 100k entries as it does
// for memo's max_entries. RocksDB's default shard rule (shards of at least 512 KiB of
// charge, at most 64) would make a single shard of such a cache and so measure one
// mutex; shards are sized by entries instead (at least 1024 entries each, at most 64).
//
// Debian's librocksdb 7.8.3 is built with assertions enabled (it calls __assert_fail),
// so its figures include RocksDB's debug checks; memo_stores says so in its context.
#pragma once

#include <rocksdb/cache.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <stdexcept>
#include <string>

#include "engine.h"
#include "payload.h"

namespace memo_bench::rocksdb_adapter {

// HyperClockCache asserts (aborts, in this build) on any key that is not 16 bytes.
static_assert(sizeof(memo::Key) == 16, "memo::Key must be exactly 16 bytes for HyperClockCache");

inline rocksdb::Slice slice(const memo::Key& key) {
  return rocksdb::Slice(reinterpret_cast<const char*>(&key), sizeof key);
}

inline void delete_payload(const rocksdb::Slice& /*key*/, void* value) {
  delete static_cast<Payload*>(value);
}

inline constexpr std::size_t kChargePerEntry = 1;

struct Sizing {
  std::size_t capacity;  // in entries
  int shard_bits;
};

// Each shard gets ceil(capacity / shards) in RocksDB, so a bound that is not a multiple
// of the shard count would let the cache hold up to shards - 1 entries too many; the
// bound is rounded down to a multiple instead (100000 over 64 shards: 99968).
// Unbounded runs still need a capacity: room for twice the keys, so nothing is evicted.
inline Sizing sizing(const EngineConfig& config) {
  std::size_t capacity = config.capacity != 0 ? config.capacity
                                              : std::max<std::size_t>(2 * config.expected_entries, 1);
  const std::size_t shards = std::bit_floor(std::clamp<std::size_t>(capacity / 1024, 1, 64));
  capacity -= capacity % shards;
  return {capacity, static_cast<int>(std::bit_width(shards) - 1)};
}

inline void check(const rocksdb::Status& status, const char* what) {
  if (!status.ok()) throw std::runtime_error(std::string(what) + ": " + status.ToString());
}

}  // namespace memo_bench::rocksdb_adapter
