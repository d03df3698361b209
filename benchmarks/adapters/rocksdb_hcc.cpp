// Adapter: RocksDB's HyperClockCache (HyperClockCacheOptions(...).MakeSharedCache()),
// a lock-free open-addressing table with CLOCK eviction; EXPERIMENTAL in 7.8.
//
// API constraints this adapter follows (RocksDB 7.8.3):
//   - keys must be exactly 16 bytes (memo::Key is; anything else asserts);
//   - the table size is fixed at creation from capacity / estimated_entry_charge, so
//     with every entry charged 1 the estimate is 1 (an estimate too high starves the
//     table of slots, too low wastes memory);
//   - Insert does not overwrite a visible entry with the same key, so replace() is
//     Erase + Insert (a get in between misses);
//   - when Erase + Insert of one key race on two threads, the cache can keep more
//     entries than keys at rest (seen: 10,007 for 10,000 keys after a 2-thread
//     read_heavy run) while every lookup still returns the right key's entry; so its
//     size is checked only from below.
#include <memory>

#include "rocksdb_common.h"

namespace memo_bench {
namespace {

using namespace rocksdb_adapter;

class RocksdbHccEngine final : public Engine {
 public:
  explicit RocksdbHccEngine(const EngineConfig& config) : value_bytes_(config.value_bytes) {
    const Sizing size = sizing(config);
    rocksdb::HyperClockCacheOptions options(size.capacity,
                                            /*estimated_entry_charge=*/kChargePerEntry,
                                            size.shard_bits,
                                            /*strict_capacity_limit=*/false,
                                            /*memory_allocator=*/nullptr,
                                            rocksdb::kDontChargeCacheMetadata);
    cache_ = options.MakeSharedCache();
  }

  bool get(const memo::Key& key, memo::Key& payload_key) override {
    rocksdb::Cache::Handle* handle = cache_->Lookup(slice(key));
    if (handle == nullptr) return false;
    payload_key = static_cast<const Payload*>(cache_->Value(handle))->key;
    cache_->Release(handle);
    return true;
  }

  void insert(const memo::Key& key) override {
    check(cache_->Insert(slice(key), new Payload(make_payload(key, value_bytes_)), kChargePerEntry,
                         &delete_payload),
          "rocksdb_hcc Insert");
  }

  void replace(const memo::Key& key) override {
    cache_->Erase(slice(key));
    insert(key);
  }

  void erase(const memo::Key& key) override { cache_->Erase(slice(key)); }

  std::size_t size() const override { return cache_->GetUsage() / kChargePerEntry; }
  bool one_entry_per_key() const override { return false; }
  std::string_view name() const override { return "rocksdb_hcc"; }

 private:
  const std::size_t value_bytes_;
  std::shared_ptr<rocksdb::Cache> cache_;
};

}  // namespace

std::unique_ptr<Engine> make_rocksdb_hcc_engine(const EngineConfig& config) {
  return std::make_unique<RocksdbHccEngine>(config);
}

}  // namespace memo_bench
