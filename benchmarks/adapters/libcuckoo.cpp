// Adapter: libcuckoo's cuckoohash_map (header-only; Debian libcuckoo-dev).
//
// Values are shared_ptr<const Payload>: find() copies the pointer out under the
// bucket's spinlock, which is the same pin (one atomic increment) that memo's stores
// hand out. libcuckoo has no capacity bound, so it sits out the eviction workloads.
// The table is reserved for the expected keys up front: a resize locks every bucket,
// and the benchmark measures steady state, not growth.
#include <libcuckoo/cuckoohash_map.hh>

#include <memory>

#include "engine.h"
#include "payload.h"

namespace memo_bench {
namespace {

class LibcuckooEngine final : public Engine {
 public:
  explicit LibcuckooEngine(const EngineConfig& config) : value_bytes_(config.value_bytes) {
    map_.reserve(config.expected_entries);
  }

  bool get(const memo::Key& key, memo::Key& payload_key) override {
    std::shared_ptr<const Payload> found;
    if (!map_.find(key, found)) return false;
    payload_key = found->key;
    return true;
  }

  void insert(const memo::Key& key) override {
    map_.insert(key, std::make_shared<const Payload>(make_payload(key, value_bytes_)));
  }

  void replace(const memo::Key& key) override {
    map_.insert_or_assign(key, std::make_shared<const Payload>(make_payload(key, value_bytes_)));
  }

  void erase(const memo::Key& key) override { map_.erase(key); }

  std::size_t size() const override { return map_.size(); }
  std::string_view name() const override { return "libcuckoo"; }

 private:
  const std::size_t value_bytes_;
  libcuckoo::cuckoohash_map<memo::Key, std::shared_ptr<const Payload>, memo::KeyHash> map_;
};

}  // namespace

std::unique_ptr<Engine> make_libcuckoo_engine(const EngineConfig& config) {
  return std::make_unique<LibcuckooEngine>(config);
}

}  // namespace memo_bench
