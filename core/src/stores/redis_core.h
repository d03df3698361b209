// The Redis store's shared state and operations (the store object, its leases and the
// lease renewer all hold it). Internal to the memo library; the design is described in
// core/include/memo/stores/redis.h and the scripts in redis_scripts.h.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "../cache/entries.h"
#include "../redis/router.h"
#include "memo/stores/redis.h"

namespace memo::detail {

// Warnings through StoreConfig::warn, outside every lock. Transport problems of one kind
// are rate-limited (a server that is down would otherwise warn on every call); a
// corrupt value always warns.
class RedisWarner {
 public:
  RedisWarner(std::function<void(std::string_view)> sink, std::string where);
  void warn(std::string_view kind, const std::string& text, bool rate_limited = true);

 private:
  std::function<void(std::string_view)> sink_;
  const std::string where_;
  std::mutex mutex_;
  struct Recent {
    Clock::time_point last{};
    std::size_t suppressed = 0;
  };
  std::unordered_map<std::string, Recent> recent_;
};

// The keys of one entry (all with the tag {N.K}).
struct RedisEntryKeys {
  std::string member;    // K: the key's name in the function's recency set
  std::string manifest;  // memo:{N.K}:m
  std::string lease;     // memo:{N.K}:lease
  std::string channel;   // memo:{N.K}:done
  std::string chunk(std::string_view version, std::size_t index) const;
  std::string chunk_prefix;  // memo:{N.K}:c:
};

struct RedisGenerations {
  std::string g;  // global (memo:clear-all)
  std::string f;  // this function's
};

// What one entry becomes on the server.
struct RedisValue {
  std::string messages;  // encoded
  std::span<const std::byte> payload;
  std::string sum;      // XXH3-64 of messages + payload, 16 hex digits
  std::string version;  // fresh per write
  std::size_t chunks = 0;
  std::size_t chunk_bytes = 0;
  // The sizes as the manifest stores them.
  std::string size_text, chunks_text, chunk_bytes_text;
};

// A manifest as read back (views into the reply that carried it).
struct RedisManifest {
  long long pttl = -1;
  std::string_view version, size, chunks, chunk_bytes, sum, messages, data;
  bool has_data = false;
};

class RedisCore {
 public:
  RedisCore(const StoreConfig& config, const RedisStoreOptions& options);
  ~RedisCore();
  RedisCore(const RedisCore&) = delete;
  RedisCore& operator=(const RedisCore&) = delete;

  EntryPtr find(const Key& key, Clock::time_point now);
  EntryPtr insert(const Key& key, const EntryPtr& entry, Clock::time_point now);
  bool erase(const Key& key, const Entry* expected);
  void clear();
  void clear_all_namespaces();
  std::size_t size();
  MissTicket begin_miss(const std::shared_ptr<RedisCore>& self, const Key& key, Clock::time_point now);

  // For leases.
  EntryPtr publish(const RedisEntryKeys& keys, const RedisGenerations& generations,
                   const std::string& token, const EntryPtr& entry);
  void release(const RedisEntryKeys& keys, const std::string& token);
  std::uint64_t hold_lease(const RedisEntryKeys& keys, const std::string& token);
  void unhold_lease(std::uint64_t id);

  RedisWarner& warner() { return warner_; }

 private:
  enum class Load { ok, retry, corrupt, failed };
  struct Loaded {
    Load status = Load::failed;
    EntryPtr entry;
  };

  RedisEntryKeys keys_for(const Key& key) const;
  std::optional<RedisGenerations> read_generations(std::string_view operation);
  Loaded load(const RedisEntryKeys& keys, const RedisManifest& manifest, Clock::time_point now,
              std::string_view operation);
  bool write_chunks(const RedisEntryKeys& keys, const RedisValue& value, std::string_view operation);
  void delete_chunks(const RedisEntryKeys& keys, std::string_view version, std::size_t chunks);
  // For a manifest whose chunk count cannot be trusted: finds the version's chunks (SCAN).
  void delete_chunks_by_name(const RedisEntryKeys& keys, std::string_view version);
  void drop_members(const std::vector<std::string>& members, const std::string& f_bound,
                    const std::string& g_bound);
  // Registers `keys.member` as used under `generations` and trims to max_entries; false
  // when a clear happened since the write began (the write is then dropped).
  bool admit(const RedisEntryKeys& keys, const RedisGenerations& generations,
             std::string_view version, std::string_view stamp);
  std::optional<RedisValue> prepare(const Entry& entry, std::string_view operation);
  // ARGV g f v n k cs sum msgs data px of the storing scripts (views into the arguments).
  std::vector<std::string_view> manifest_args(const RedisValue& value,
                                              const RedisGenerations& generations) const;
  // Classifies a failed call and warns; `consequence` says what the caller now does.
  void report(const redis::Result& result, std::string_view operation, std::string_view consequence);
  void note_success();
  void renew_loop();
  bool wait_for_wakeup(redis::Connection& subscriber, std::chrono::milliseconds timeout);

  const StoreConfig config_;
  RedisStoreOptions options_;
  redis::ServerAddress address_;
  std::unique_ptr<redis::Router> router_;
  RedisWarner warner_;
  const std::string namespace_hex_;
  const std::string meta_key_;
  const std::string lru_key_;
  const std::string versions_key_;  // key -> the stamp of the write it is counted for
  const std::string gone_key_;      // key -> the stamp of its last erased write (a minute)
  const std::string max_entries_text_;
  const std::string ttl_ms_text_;  // "0": no expiry
  std::string lease_ms_text_;
  std::atomic<bool> troubled_{false};

  std::mutex renew_mutex_;  // guards the fields below
  std::condition_variable renew_wakeup_;
  struct HeldLease {
    std::string route;
    std::string lease_key;
    std::string token;
    // When the lease was last known to be extended: taken, or a renewal sent that came
    // back renewed. A renewal that finds the lease gone a whole lease after this lapsed it.
    Clock::time_point extended_at;
    bool lost = false;  // found gone (erased, or lapsed): never renewed again
  };
  std::map<std::uint64_t, HeldLease> held_;
  std::uint64_t next_hold_ = 1;
  bool stopping_ = false;
  std::thread renewer_;
};

std::string redis_random_token();

}  // namespace memo::detail
