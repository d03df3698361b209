// Adapter: RocksDB's LRUCache (NewLRUCache), the sharded mutex-per-shard LRU that
// RocksDB uses as its default block cache.
//
// high_pri_pool_ratio = 0: every entry lives in one LRU list per shard, the same exact
// LRU policy as memo's mutex_map (the default 0.5 splits each shard into two pools).
// Insert overwrites an existing key in place, so replace() is one Insert.
#include <memory>

#include "rocksdb_common.h"

namespace memo_bench {
namespace {

using namespace rocksdb_adapter;

class RocksdbLruEngine final : public Engine {
 public:
  explicit RocksdbLruEngine(const EngineConfig& config) : value_bytes_(config.value_bytes) {
    const Sizing size = sizing(config);
    rocksdb::LRUCacheOptions options;
    options.capacity = size.capacity;
    options.num_shard_bits = size.shard_bits;
    options.strict_capacity_limit = false;
    options.high_pri_pool_ratio = 0.0;
    options.low_pri_pool_ratio = 0.0;
    options.metadata_charge_policy = rocksdb::kDontChargeCacheMetadata;
    cache_ = rocksdb::NewLRUCache(options);
  }

  bool get(const memo::Key& key, memo::Key& payload_key) override {
    rocksdb::Cache::Handle* handle = cache_->Lookup(slice(key));
    if (handle == nullptr) return false;
    payload_key = static_cast<const Payload*>(cache_->Value(handle))->key;
    cache_->Release(handle);
    return true;
  }

  void insert(const memo::Key& key) override { put(key); }
  void replace(const memo::Key& key) override { put(key); }
  void erase(const memo::Key& key) override { cache_->Erase(slice(key)); }

  std::size_t size() const override { return cache_->GetUsage() / kChargePerEntry; }
  std::string_view name() const override { return "rocksdb_lru"; }

 private:
  void put(const memo::Key& key) {
    check(cache_->Insert(slice(key), new Payload(make_payload(key, value_bytes_)), kChargePerEntry,
                         &delete_payload),
          "rocksdb_lru Insert");
  }

  const std::size_t value_bytes_;
  std::shared_ptr<rocksdb::Cache> cache_;
};

}  // namespace

std::unique_ptr<Engine> make_rocksdb_lru_engine(const EngineConfig& config) {
  return std::make_unique<RocksdbLruEngine>(config);
}

}  // namespace memo_bench
