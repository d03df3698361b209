// Adapter: memo's own engines, driven through the memo::Store interface exactly as the
// cache layer drives them (visit / insert / erase with a RemovedList).
#include <memory>
#include <string>

#include "engine.h"
#include "memo/store.h"
#include "payload.h"

namespace memo_bench {
namespace {

// memo's entries carry the payload beside Entry's own header (deadline, size).
class PayloadEntry final : public memo::Entry {
 public:
  PayloadEntry(const memo::Key& key, std::size_t value_bytes)
      : Entry(Entry::never, sizeof key + value_bytes), payload_(make_payload(key, value_bytes)) {}
  const memo::Key& key() const { return payload_.key; }

 private:
  const Payload payload_;
};

class MemoStoreEngine final : public Engine {
 public:
  MemoStoreEngine(std::string_view name, const EngineConfig& config)
      : store_(memo::make_store(name, memo::StoreConfig{.max_entries = config.capacity})),
        name_(name),
        value_bytes_(config.value_bytes) {}

  // Store::visit, as the cache layer's hit path uses it: engines that can pin an entry
  // without a reference count (flat_table) do; the others fall back to find().
  bool get(const memo::Key& key, memo::Key& payload_key) override {
    memo::RemovedList& removed = removed_list();
    const bool hit = store_->visit(key, now_, removed, [&](const memo::EntryPtr& entry) {
      payload_key = static_cast<const PayloadEntry&>(*entry).key();
    });
    if (!removed.empty()) removed.clear();
    return hit;
  }

  void insert(const memo::Key& key) override {
    memo::RemovedList& removed = removed_list();
    store_->insert(key, std::make_shared<const PayloadEntry>(key, value_bytes_), now_, removed);
    removed.clear();  // evicted entries are freed here, outside the store's locks
  }

  void replace(const memo::Key& key) override {
    memo::RemovedList& removed = removed_list();
    store_->replace(key, std::make_shared<const PayloadEntry>(key, value_bytes_), now_, removed);
    removed.clear();
  }

  void erase(const memo::Key& key) override {
    memo::RemovedList& removed = removed_list();
    store_->erase(key, nullptr, memo::RemovalCause::erased, removed);
    removed.clear();
  }

  std::size_t size() const override { return store_->size(); }
  std::string_view name() const override { return name_; }

 private:
  // One list per thread, reused, so reporting removals costs no allocation per call.
  static memo::RemovedList& removed_list() {
    thread_local memo::RemovedList removed;
    return removed;
  }

  std::unique_ptr<memo::Store> store_;
  std::string name_;
  const std::size_t value_bytes_;
  // Entries never expire, so one instant serves every call and keeps a clock read per
  // operation out of the engine's figure (the resource_* workloads include it).
  const memo::Clock::time_point now_ = memo::Clock::now();
};

}  // namespace

std::unique_ptr<Engine> make_memo_store_engine(std::string_view name, const EngineConfig& config) {
  return std::make_unique<MemoStoreEngine>(name, config);
}

}  // namespace memo_bench
