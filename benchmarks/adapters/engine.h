// The tiny facade memo_stores drives every engine through: memo's own stores (via
// memo::Store) and the peers (libcuckoo, RocksDB's LRUCache and HyperClockCache), one
// adapter file each, as in Caffeine's benchmarks.
//
// The facade asks of every engine what a cache layer needs and nothing more:
//   get      look a key up and, while the entry is pinned (shared_ptr copy, RocksDB
//            handle, or memo::Store::visit's pin), read the key its payload encodes.
//            The pin is what the cache layer's hit path takes, so its cost belongs in
//            the figure.
//   insert   after a miss: add a fresh entry unless one is present. What the cache does
//            on every miss (first writer wins; RocksDB's LRUCache can only overwrite,
//            which after a miss comes to the same).
//   replace  make a fresh entry the one stored under the key (an overwrite), with each
//            engine's most direct means: insert_or_assign in libcuckoo, Insert in
//            RocksDB's LRUCache, memo::Store::replace (in place in flat_table, erase +
//            insert in the others), Erase + Insert in HyperClockCache, which has no
//            overwrite. A get racing with an erase + insert may miss; that shows in
//            hit_ratio, never in the checksum.
//   erase    remove the key's entry, if any (the custom mix's erase).
// Every put allocates one payload; every engine frees one on removal.
//
// Thread safety: every method may be called from any number of threads at once.
// Values are immutable once stored, so a get never sees a torn payload.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "memo/key.h"

namespace memo_bench {

struct EngineConfig {
  // Entries the engine may hold before it evicts; 0 = unbounded (sized for
  // expected_entries up front where the engine needs a size).
  std::size_t capacity = 0;
  std::size_t expected_entries = 0;
  std::size_t value_bytes = 0;  // filler bytes in each payload (payload.h)
};

class Engine {
 public:
  virtual ~Engine() = default;
  // True on a hit; `payload_key` receives the key the found entry encodes.
  virtual bool get(const memo::Key& key, memo::Key& payload_key) = 0;
  virtual void insert(const memo::Key& key) = 0;
  virtual void replace(const memo::Key& key) = 0;
  virtual void erase(const memo::Key& key) = 0;
  // Entries held now (exact when quiescent); used to check capacity bounds.
  virtual std::size_t size() const = 0;
  // False when an engine may hold more than one entry per key at rest, so that an
  // unbounded run ends with size() above the key count without anything being wrong.
  virtual bool one_entry_per_key() const { return true; }
  virtual std::string_view name() const = 0;
};

struct EngineInfo {
  std::string name;
  bool is_peer;         // an external product, not a memo::Store
  bool bounds_entries;  // honours EngineConfig::capacity (eviction workloads need it)
  std::string note;     // printed in the benchmark context (e.g. RocksDB's assertions)
  bool remote = false;  // a memo engine on a server (redis): round trips, its own table
};

// memo::store_engines() first (so new memo engines join automatically), then the peers
// this build found.
std::vector<EngineInfo> engine_infos();

// The server of the remote engine (redis): the URL given, else $MEMO_REDIS_URL; when both
// are empty the engine is left out of engine_infos() (memo_stores says so).
void set_redis_server(const std::string& url);
const std::string& redis_server();

// Throws std::invalid_argument for an unknown name.
std::unique_ptr<Engine> make_engine(std::string_view name, const EngineConfig& config);

// One factory per adapter file; the peers' exist only when their library was found.
std::unique_ptr<Engine> make_memo_store_engine(std::string_view name, const EngineConfig& config);
#if MEMO_HAVE_HIREDIS
std::unique_ptr<Engine> make_redis_store_engine(const EngineConfig& config);
#endif
#ifdef MEMO_HAVE_LIBCUCKOO
std::unique_ptr<Engine> make_libcuckoo_engine(const EngineConfig& config);
#endif
#ifdef MEMO_HAVE_ROCKSDB
std::unique_ptr<Engine> make_rocksdb_lru_engine(const EngineConfig& config);
std::unique_ptr<Engine> make_rocksdb_hcc_engine(const EngineConfig& config);
#endif

}  // namespace memo_bench
