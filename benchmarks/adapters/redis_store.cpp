// Adapter: memo's redis engine (memo::RedisStore), on the server memo_stores was given
// (--redis_url, else $MEMO_REDIS_URL), driven through memo::Store like memo_store.cpp.
// Its entries must be bytes, so each is a DataEntry whose payload is its key's 16 bytes
// (what get() reads back); each engine works in a namespace of its own and clears it
// when destroyed. Its costs are round trips to the server, not cache lines: memo_stores
// reports it in a table of its own (scripts/run_stores).
#include "engine.h"

#if MEMO_HAVE_HIREDIS

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <random>
#include <stdexcept>

#include "../../core/src/cache/entries.h"
#include "memo/stores/redis.h"

namespace memo_bench {
namespace {

std::string& server_setting() {
  static std::string server;
  return server;
}

class RedisStoreEngine final : public Engine {
 public:
  explicit RedisStoreEngine(const EngineConfig& config) : value_bytes_(config.value_bytes) {
    memo::StoreConfig store_config;
    store_config.max_entries = config.capacity;
    std::random_device random;
    store_config.namespace_key = {(std::uint64_t{random()} << 32) | random(),
                                  (std::uint64_t{random()} << 32) | random()};
    store_config.server = redis_server();
    // Warnings go to the log; a store that fails misses, and the checks of stores_run.cpp
    // (every get of a prefilled key hits, size() is the key count) then fail the run.
    store_config.warn = [](std::string_view text) { std::cerr << text << "\n"; };
    store_ = memo::make_redis_store(store_config, memo::RedisStoreOptions{});
  }
  ~RedisStoreEngine() override {
    memo::RemovedList removed;
    store_->clear(removed);  // frees the server's memory for the next engine
  }

  bool get(const memo::Key& key, memo::Key& payload_key) override {
    memo::RemovedList removed;
    memo::EntryPtr entry = store_->find(key, now_, removed);
    if (!entry) return false;
    const auto bytes = static_cast<const memo::detail::DataEntry&>(*entry).persistable_bytes();
    if (bytes.size() != sizeof payload_key + value_bytes_) return false;
    std::memcpy(&payload_key, bytes.data(), sizeof payload_key);
    return true;
  }

  void insert(const memo::Key& key) override {
    memo::RemovedList removed;
    store_->insert(key, entry_for(key), now_, removed);
  }

  void erase(const memo::Key& key) override {
    memo::RemovedList removed;
    store_->erase(key, nullptr, memo::RemovalCause::erased, removed);
  }

  void replace(const memo::Key& key) override {
    memo::RemovedList removed;
    store_->replace(key, entry_for(key), now_, removed);
  }

  std::size_t size() const override { return store_->size(); }
  std::string_view name() const override { return "redis"; }

 private:
  // The key's 16 bytes, then --value_bytes of filler.
  memo::EntryPtr entry_for(const memo::Key& key) const {
    std::string bytes(reinterpret_cast<const char*>(&key), sizeof key);
    bytes.append(value_bytes_, 'v');
    return std::make_shared<const memo::detail::DataEntry>(
        memo::Entry::never, memo::make_payload(bytes), std::vector<std::string>{});
  }

  const std::size_t value_bytes_;
  std::unique_ptr<memo::RedisStore> store_;
  const memo::Clock::time_point now_ = memo::Clock::now();
};

}  // namespace

void set_redis_server(const std::string& url) {
  server_setting() = url;
  if (server_setting().empty()) {
    if (const char* env = std::getenv("MEMO_REDIS_URL"); env && *env) server_setting() = env;
  }
}

const std::string& redis_server() { return server_setting(); }

std::unique_ptr<Engine> make_redis_store_engine(const EngineConfig& config) {
  if (redis_server().empty()) {
    throw std::invalid_argument("the redis engine needs a server: --redis_url=redis://host:port/db "
                                "or $MEMO_REDIS_URL");
  }
  return std::make_unique<RedisStoreEngine>(config);
}

}  // namespace memo_bench

#else

namespace memo_bench {
void set_redis_server(const std::string&) {}
const std::string& redis_server() {
  static const std::string none;
  return none;
}
}  // namespace memo_bench

#endif  // MEMO_HAVE_HIREDIS
