// The redis store (core/include/memo/stores/redis.h), driven directly through the Store
// and SharedStore interfaces: values of every size, ttl, max_entries and the three
// clears across store instances (each instance stands for a process: instances share
// nothing but the server), single flight, the cluster, and every fault the header
// promises to survive. Multi-process herds are in redis_process_test.cpp.
#if MEMO_HAVE_HIREDIS

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../core/src/cache/entries.h"
#include "../core/src/redis/slot.h"
#include "../core/src/redis/url.h"
#include "memo/stores/redis.h"
#include "support/redis_testing.h"
#include "support/test_helpers.h"

using namespace std::chrono_literals;
using memo::Clock;
using memo::EntryPtr;
using memo::Key;
using memo::RemovalCause;
using memo::RemovedList;
using memo_test::redis::Admin;
using memo_test::redis::fresh_namespace;
using memo_test::redis::PrivateServer;

namespace {

// Collects the store's warnings (the sink may be called from any thread).
class Warnings {
 public:
  std::function<void(std::string_view)> sink() {
    return [state = state_](std::string_view text) {
      std::lock_guard lock(state->mutex);
      state->lines.emplace_back(text);
    };
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(state_->mutex);
    return state_->lines;
  }
  bool contains(std::string_view text) const {
    for (const auto& line : lines()) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }
  std::string joined() const {
    std::string all;
    for (const auto& line : lines()) all += line + "\n";
    return all;
  }

 private:
  struct State {
    mutable std::mutex mutex;
    std::vector<std::string> lines;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

struct Setup {
  std::string url;
  Key ns = fresh_namespace();
  std::size_t max_entries = 0;
  std::optional<std::chrono::nanoseconds> ttl;
  memo::RedisStoreOptions options{};
};

std::unique_ptr<memo::RedisStore> open(const Setup& setup, Warnings& warnings) {
  memo::StoreConfig config;
  config.max_entries = setup.max_entries;
  config.namespace_key = setup.ns;
  config.ttl = setup.ttl;
  config.warn = warnings.sink();
  config.server = setup.url;
  return memo::make_redis_store(config, setup.options);
}

// prefix + n (also sidesteps a GCC 12 -Wrestrict false positive on "literal" + string).
std::string numbered(std::string prefix, std::uint64_t n) {
  prefix += std::to_string(n);
  return prefix;
}

Key key_of(std::uint64_t n) { return {n * 0x9E3779B97F4A7C15ULL + 1, n ^ 0x5bd1e995ULL}; }

EntryPtr value(const std::string& bytes, std::vector<std::string> messages = {}) {
  return std::make_shared<const memo::detail::DataEntry>(memo::Entry::never, memo::make_payload(bytes),
                                                         std::move(messages));
}

std::string bytes_of(const EntryPtr& entry) {
  if (!entry) return "<null>";
  const auto* data = dynamic_cast<const memo::detail::DataEntry*>(entry.get());
  if (!data) return "<not a DataEntry>";
  const auto view = data->persistable_bytes();
  return {reinterpret_cast<const char*>(view.data()), view.size()};
}

std::vector<std::string> messages_of(const EntryPtr& entry) {
  const auto* data = dynamic_cast<const memo::detail::DataEntry*>(entry.get());
  return data ? data->messages() : std::vector<std::string>{};
}

// A value whose every byte says which value it is: a mixed read is detectable.
std::string uniform(std::size_t size, char fill) { return std::string(size, fill); }

bool is_uniform(const std::string& bytes, std::size_t size) {
  return bytes.size() == size &&
         std::all_of(bytes.begin(), bytes.end(), [&](char c) { return c == bytes.front(); });
}

// Options that make chunking happen at test sizes.
memo::RedisStoreOptions small_chunks() {
  memo::RedisStoreOptions options;
  options.inline_bytes = 100;
  options.chunk_bytes = 1000;
  options.chunk_window = 3;
  return options;
}

template <class Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return predicate();
}

// Keys of one namespace on one server node (manifests, chunks, leases...).
std::size_t count_keys(const memo_test::redis::HostPort& node, const Key& ns, const std::string& suffix) {
  Admin admin(node);
  const std::string pattern = std::string("memo:{") + ns.hex() + ".*}:" + suffix;
  const std::string keys = admin.run({"KEYS", pattern});
  return keys.empty() ? 0 : memo_test::redis::split_lines(keys).size();
}

const Clock::time_point t0 = Clock::now();

}  // namespace

// ---- addresses and slots ----------------------------------------------------------------

TEST_CASE("redis address: forms, defaults and errors that never show the password", "[redis]") {
  using memo::redis::parse_server_address;
  auto a = parse_server_address("redis://127.0.0.1:6380/2");
  CHECK(a.endpoint.host == "127.0.0.1");
  CHECK(a.endpoint.port == 6380);
  CHECK(a.db == 2);
  CHECK(a.password.empty());
  auto b = parse_server_address("redis://alice:s%40cret@cache.example:7000/0?timeout_ms=250&lease_ms=900");
  CHECK(b.user == "alice");
  CHECK(b.password == "s@cret");
  CHECK(b.endpoint.host == "cache.example");
  CHECK(b.command_timeout == 250ms);
  CHECK(b.lease == 900ms);
  CHECK(b.where() == "cache.example:7000/0");
  auto c = parse_server_address("redis://hunter2@localhost");
  CHECK(c.password == "hunter2");
  CHECK(c.endpoint.port == 6379);
  CHECK(parse_server_address("redis://[::1]:6390/1").endpoint.text() == "[::1]:6390");

  for (const char* bad : {"http://host:1/0", "redis://alice:hunter2@host:99999/0", "redis://alice:hunter2/0",
                          "redis://alice:hunter2@host:1/x", "redis://alice:hunter2@:1/0",
                          "redis://alice:hunter2@host:1/0?nope=1", "redis://alice:hunter2@host:1/0?timeout_ms=0"}) {
    CAPTURE(bad);
    try {
      parse_server_address(bad);
      FAIL("accepted " << bad);
    } catch (const std::invalid_argument& error) {
      const std::string message = error.what();
      CHECK(message.find("hunter2") == std::string::npos);
      CHECK(message.find("redis://") != std::string::npos);
    }
  }
}

TEST_CASE("redis slots: memo's CRC16 agrees with the cluster's CLUSTER KEYSLOT", "[redis]") {
  const std::string url = memo_test::redis::cluster_url();
  MEMO_NEED_REDIS(url);
  Admin admin(url);
  const Key ns = fresh_namespace();
  for (std::uint64_t n = 0; n < 200; ++n) {
    const std::string key = std::string("memo:{") + ns.hex() + "." + key_of(n).hex() + numbered("}:m", n);
    CHECK(memo::redis::key_slot(key) == admin.integer({"CLUSTER", "KEYSLOT", key}));
  }
  CHECK(memo::redis::key_slot("plain-key-without-tag") == admin.integer({"CLUSTER", "KEYSLOT", "plain-key-without-tag"}));
}

// ---- the store on a standalone server and on the cluster --------------------------------

TEST_CASE("redis store: round trips values of every size, with their messages", "[redis]") {
  const bool cluster = GENERATE(false, true);
  CAPTURE(cluster);
  Setup setup;
  setup.url = cluster ? memo_test::redis::cluster_url() : memo_test::redis::standalone_url();
  MEMO_NEED_REDIS(setup.url);
  setup.options = small_chunks();
  Warnings warnings;
  auto store = open(setup, warnings);
  CHECK(store->name() == "redis");
  CHECK_FALSE(store->holds_objects());
  RemovedList removed;
  // Inline, exactly at the inline limit, one byte over, several chunks, a partial last one.
  const std::vector<std::size_t> sizes{0, 1, 100, 101, 1000, 1001, 12345, 250000};
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    CAPTURE(sizes[i]);
    std::string bytes(sizes[i], '\0');
    for (std::size_t b = 0; b < bytes.size(); ++b) bytes[b] = static_cast<char>((b * 131 + i) & 0xff);
    auto entry = value(bytes, {numbered("message ", i), ""});
    CHECK(store->insert(key_of(i), entry, t0, removed) == entry);
    EntryPtr found = store->find(key_of(i), t0, removed);
    REQUIRE(found);
    CHECK(bytes_of(found) == bytes);
    CHECK(messages_of(found) == std::vector<std::string>{numbered("message ", i), ""});
    CHECK(found->expires_at() == memo::Entry::never);
  }
  CHECK(store->find(key_of(999), t0, removed) == nullptr);
  CHECK(store->size() == sizes.size());
  CHECK(removed.empty());
  CHECK(warnings.lines().empty());
}

TEST_CASE("redis store: first writer wins across instances - erase and clear are seen by all", "[redis]") {
  const bool cluster = GENERATE(false, true);
  CAPTURE(cluster);
  Setup setup;
  setup.url = cluster ? memo_test::redis::cluster_url() : memo_test::redis::standalone_url();
  MEMO_NEED_REDIS(setup.url);
  Warnings warnings;
  auto a = open(setup, warnings);
  auto b = open(setup, warnings);
  RemovedList removed;
  CHECK(bytes_of(a->insert(key_of(1), value("from a"), t0, removed)) == "from a");
  CHECK(bytes_of(b->insert(key_of(1), value("from b"), t0, removed)) == "from a");
  CHECK(bytes_of(b->find(key_of(1), t0, removed)) == "from a");

  // erase with an expected entry removes only that value.
  CHECK_FALSE(b->erase(key_of(1), value("something else").get(), RemovalCause::erased, removed));
  CHECK(b->erase(key_of(1), b->find(key_of(1), t0, removed).get(), RemovalCause::erased, removed));
  CHECK(a->find(key_of(1), t0, removed) == nullptr);
  CHECK_FALSE(a->erase(key_of(1), nullptr, RemovalCause::erased, removed));

  for (std::uint64_t i = 0; i < 20; ++i) a->insert(key_of(i), value(numbered("v", i)), t0, removed);
  CHECK(b->size() == 20);
  b->clear(removed);
  CHECK(a->size() == 0);
  for (std::uint64_t i = 0; i < 20; ++i) CHECK(a->find(key_of(i), t0, removed) == nullptr);
  // A clear frees the bytes too: no manifest of this namespace is left anywhere.
  std::size_t manifests = 0;
  const auto nodes = cluster ? memo_test::redis::cluster_masters(setup.url)
                             : std::vector{memo_test::redis::host_port(setup.url)};
  for (const auto& node : nodes) manifests += count_keys(node, setup.ns, "m");
  CHECK(manifests == 0);
  // Usable afterwards.
  CHECK(bytes_of(b->insert(key_of(3), value("after"), t0, removed)) == "after");
  CHECK(bytes_of(a->find(key_of(3), t0, removed)) == "after");
  CHECK(removed.empty());  // bytes in another process are never reported
  CHECK(warnings.lines().empty());
}

TEST_CASE("redis store: another cache identity never sees the entries - the global clear reaches all", "[redis]") {
  // A server of its own: the global clear would wipe the entries of tests running beside it.
  PrivateServer server;
  MEMO_NEED_REDIS(server.url());
  Setup one, two;
  one.url = two.url = server.url();
  Warnings warnings;
  auto first = open(one, warnings);
  auto second = open(two, warnings);
  RemovedList removed;
  first->insert(key_of(7), value("one"), t0, removed);
  second->insert(key_of(7), value("two"), t0, removed);
  CHECK(bytes_of(first->find(key_of(7), t0, removed)) == "one");
  CHECK(bytes_of(second->find(key_of(7), t0, removed)) == "two");

  // A third cache, in "another process", clears everything on the server.
  Setup third;
  third.url = one.url;
  open(third, warnings)->clear_all_namespaces();
  CHECK(first->find(key_of(7), t0, removed) == nullptr);
  CHECK(second->find(key_of(7), t0, removed) == nullptr);
  CHECK(second->size() == 0);
  // New entries work, and count, after the global clear.
  second->insert(key_of(8), value("fresh"), t0, removed);
  CHECK(bytes_of(first->find(key_of(7), t0, removed)) == "<null>");
  CHECK(bytes_of(second->find(key_of(8), t0, removed)) == "fresh");
  CHECK(second->size() == 1);
  CHECK(warnings.lines().empty());
}

TEST_CASE("redis store: ttl is the server's expiry, for the manifest and every chunk", "[redis]") {
  Setup setup;
  setup.url = memo_test::redis::standalone_url();
  MEMO_NEED_REDIS(setup.url);
  setup.ttl = 1500ms;
  setup.options = small_chunks();
  Warnings warnings;
  auto store = open(setup, warnings);
  RemovedList removed;
  const auto before = Clock::now();
  store->insert(key_of(1), value(uniform(5000, 'x')), before, removed);
  store->insert(key_of(2), value("small"), before, removed);
  EntryPtr found = store->find(key_of(1), before, removed);
  REQUIRE(found);
  CHECK(found->expires_at() > before);
  CHECK(found->expires_at() <= before + 1500ms);
  const auto node = memo_test::redis::host_port(setup.url);
  CHECK(count_keys(node, setup.ns, "c:*") == 5);
  CHECK(eventually([&] { return store->find(key_of(1), Clock::now(), removed) == nullptr; }, 10s));
  CHECK(eventually([&] { return store->find(key_of(2), Clock::now(), removed) == nullptr; }, 10s));
  CHECK(eventually([&] { return count_keys(node, setup.ns, "*") == 0; }, 10s));

  // A ttl beyond what Redis can express means "never".
  Setup forever = setup;
  forever.ttl = std::chrono::nanoseconds::max();
  auto lasting = open(forever, warnings);
  lasting->insert(key_of(3), value("kept"), t0, removed);
  EntryPtr kept = lasting->find(key_of(3), t0, removed);
  REQUIRE(kept);
  CHECK(kept->expires_at() == memo::Entry::never);
  CHECK(warnings.lines().empty());
}

TEST_CASE("redis store: max_entries holds across instances with least-recently-used eviction", "[redis]") {
  const bool cluster = GENERATE(false, true);
  CAPTURE(cluster);
  Setup setup;
  setup.url = cluster ? memo_test::redis::cluster_url() : memo_test::redis::standalone_url();
  MEMO_NEED_REDIS(setup.url);
  setup.max_entries = 3;
  setup.options = small_chunks();
  Warnings warnings;
  auto a = open(setup, warnings);
  auto b = open(setup, warnings);
  RemovedList removed;
  for (std::uint64_t i = 1; i <= 3; ++i) a->insert(key_of(i), value(uniform(2500, 'a')), t0, removed);
  // A use in the other instance protects key 1; key 2 is then the least recently used.
  REQUIRE(b->find(key_of(1), t0, removed));
  b->insert(key_of(4), value("four"), t0, removed);
  CHECK(a->size() == 3);
  CHECK(a->find(key_of(2), t0, removed) == nullptr);
  CHECK(a->find(key_of(1), t0, removed) != nullptr);
  CHECK(a->find(key_of(3), t0, removed) != nullptr);
  CHECK(a->find(key_of(4), t0, removed) != nullptr);
  // The evicted entry's chunks are gone too.
  std::size_t chunks = 0;
  const auto nodes = cluster ? memo_test::redis::cluster_masters(setup.url)
                             : std::vector{memo_test::redis::host_port(setup.url)};
  for (const auto& node : nodes) chunks += count_keys(node, setup.ns, "c:*");
  CHECK(chunks == 2 * 3);

  // Many writers at once: the bound holds after every insert.
  std::atomic<std::size_t> over{0};
  memo_test::run_threads(4, [&](int t) {
    Warnings quiet;
    auto mine = open(setup, quiet);
    RemovedList local;
    for (std::uint64_t i = 0; i < 30; ++i) {
      mine->insert(key_of(100 + static_cast<std::uint64_t>(t) * 100 + i), value("x"), t0, local);
      if (mine->size() > 3) over.fetch_add(1);
    }
  });
  CHECK(over.load() == 0);
  CHECK(a->size() == 3);
  CHECK(warnings.lines().empty());
}

TEST_CASE("redis store: racing erases and inserts of one key leave it counted exactly when present",
          "[redis]") {
  // An erase removes the key's manifest, then (on the function's slot) stops counting the
  // key; an insert writes the manifest, then counts the key. Interleaved, the steps used
  // to uncount an insert that landed in between (size() short of the entries present,
  // and the entry beyond max_entries' reach) or, with a late count, to leave an erased
  // key counted.
  const bool cluster = GENERATE(false, true);
  CAPTURE(cluster);
  Setup setup;
  setup.url = cluster ? memo_test::redis::cluster_url() : memo_test::redis::standalone_url();
  MEMO_NEED_REDIS(setup.url);
  Warnings warnings;
  std::vector<std::unique_ptr<memo::RedisStore>> stores;
  for (int i = 0; i < 4; ++i) stores.push_back(open(setup, warnings));
  // Short episodes, each ending quiescent with the key present: four instances erase and
  // re-insert the key at once, then the count must be exactly one.
  int miscounted = 0;
  RemovedList removed;
  for (int episode = 0; episode < 60; ++episode) {
    const Key key = key_of(static_cast<std::uint64_t>(episode));
    stores[0]->insert(key, value("first"), t0, removed);
    std::atomic<int> ready{0};
    memo_test::run_threads(4, [&](int t) {
      RemovedList local;
      ready.fetch_add(1);
      while (ready.load() < 4) std::this_thread::yield();
      for (int round = 0; round < 3; ++round) {
        stores[static_cast<std::size_t>(t)]->erase(key, nullptr, RemovalCause::erased, local);
        stores[static_cast<std::size_t>(t)]->insert(key, value(numbered("v", static_cast<std::uint64_t>(t))), t0, local);
      }
    });
    REQUIRE(stores[0]->find(key, t0, removed) != nullptr);
    if (stores[0]->size() != 1) ++miscounted;
    stores[0]->erase(key, nullptr, RemovalCause::erased, removed);
    REQUIRE(stores[0]->size() == 0);
  }
  CHECK(miscounted == 0);
  CHECK(warnings.lines().empty());
}

TEST_CASE("redis store: a reader never sees a partial or mixed value while writers replace it", "[redis]") {
  Setup setup;
  setup.url = memo_test::redis::standalone_url();
  MEMO_NEED_REDIS(setup.url);
  setup.options = small_chunks();
  constexpr std::size_t kSize = 20000;  // 20 chunks
  Warnings warnings;
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> reads{0}, hits{0}, bad{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      auto store = open(setup, warnings);
      RemovedList removed;
      for (int round = 0; !stop.load(); ++round) {
        std::this_thread::sleep_for(2ms);  // let readers meet each value, and its replacement
        const char fill = static_cast<char>('a' + (round * 2 + w) % 26);
        if (round % 2) {
          store->erase(key_of(1), nullptr, RemovalCause::erased, removed);
          store->insert(key_of(1), value(uniform(kSize, fill)), t0, removed);
        } else {
          // Through a lease, as the cache layer's miss does.
          memo::MissTicket ticket = store->begin_miss(key_of(1), t0);
          if (ticket.lease) ticket.lease->publish(value(uniform(kSize, fill)));
          std::this_thread::sleep_for(2ms);
          store->erase(key_of(1), nullptr, RemovalCause::erased, removed);
        }
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&] {
      auto store = open(setup, warnings);
      RemovedList removed;
      while (!stop.load()) {
        EntryPtr found = store->find(key_of(1), t0, removed);
        reads.fetch_add(1);
        if (!found) continue;
        hits.fetch_add(1);
        if (!is_uniform(bytes_of(found), kSize)) bad.fetch_add(1);
      }
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (hits.load() < 200 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
  stop.store(true);
  for (auto& thread : threads) thread.join();
  INFO("reads " << reads.load() << ", hits " << hits.load());
  CHECK(hits.load() > 0);
  CHECK(bad.load() == 0);
  CHECK(warnings.lines().empty());
}

// ---- clears against writes in flight ------------------------------------------------------

TEST_CASE("redis store: a clear that returned is never undone by a write already in flight", "[redis]") {
  const int which = GENERATE(0, 1, 2);  // clear(), erase (clear(args)), the global clear
  CAPTURE(which);
  // The global clear gets a server of its own: it would wipe the entries of tests running
  // beside it.
  std::unique_ptr<PrivateServer> server;
  if (which == 2) server = std::make_unique<PrivateServer>();
  Setup setup;
  setup.url = server ? server->url() : memo_test::redis::standalone_url();
  MEMO_NEED_REDIS(setup.url);
  Warnings warnings;
  auto computing = open(setup, warnings);
  auto clearing = open(setup, warnings);
  RemovedList removed;
  memo::MissTicket ticket = computing->begin_miss(key_of(5), t0);
  REQUIRE(ticket.lease);
  if (which == 0) clearing->clear(removed);
  if (which == 1) CHECK_FALSE(clearing->erase(key_of(5), nullptr, RemovalCause::erased, removed));
  if (which == 2) clearing->clear_all_namespaces();
  // The computation that began before the clear finishes now: its value goes back to its
  // caller but is not stored.
  EntryPtr computed = value("stale");
  CHECK(ticket.lease->publish(computed) == computed);
  CHECK(clearing->find(key_of(5), t0, removed) == nullptr);
  CHECK(computing->find(key_of(5), t0, removed) == nullptr);
  CHECK(clearing->size() == 0);
  // The next miss computes afresh.
  memo::MissTicket next = clearing->begin_miss(key_of(5), t0);
  REQUIRE(next.lease);
  next.lease->publish(value("fresh"));
  CHECK(bytes_of(computing->find(key_of(5), t0, removed)) == "fresh");
  CHECK(warnings.lines().empty());
}

TEST_CASE("redis store: the generations alone hide entries, even when a clear's clean-up never ran",
          "[redis]") {
  // A clear is O(1): it increments a generation, and only then deletes the bytes. A
  // process that dies between the two (simulated here by incrementing the generation by
  // hand) must still have cleared: every process misses from then on.
  Setup setup;
  setup.url = memo_test::redis::standalone_url();
  MEMO_NEED_REDIS(setup.url);
  Warnings warnings;
  auto store = open(setup, warnings);
  RemovedList removed;
  for (std::uint64_t i = 0; i < 3; ++i) store->insert(key_of(i), value(numbered("v", i)), t0, removed);
  REQUIRE(bytes_of(store->find(key_of(0), t0, removed)) == "v0");
  Admin admin(setup.url);
  const std::string meta = std::string("memo:{") + setup.ns.hex() + "}:meta";
  admin.run({"HINCRBY", meta, "f", "1"});  // this function's clear, without its clean-up
  for (std::uint64_t i = 0; i < 3; ++i) CHECK(store->find(key_of(i), t0, removed) == nullptr);
  CHECK(count_keys(memo_test::redis::host_port(setup.url), setup.ns, "m") == 3);  // bytes still there
  store->insert(key_of(0), value("again"), t0, removed);
  CHECK(bytes_of(store->find(key_of(0), t0, removed)) == "again");
  admin.run({"INCR", "memo:clear-all"});  // the global clear, likewise
  CHECK(store->find(key_of(0), t0, removed) == nullptr);
  memo::MissTicket ticket = store->begin_miss(key_of(1), t0);
  CHECK_FALSE(ticket.published);  // a stale manifest is not a published value
  REQUIRE(ticket.lease);
  ticket.lease->publish(value("fresh"));
  CHECK(bytes_of(store->find(key_of(1), t0, removed)) == "fresh");
  CHECK(warnings.lines().empty());
}

// ---- single flight between instances ---------------------------------------------------------

TEST_CASE("redis store: a waiter sleeps until the holder publishes, then gets its value", "[redis]") {
  const bool cluster = GENERATE(false, true);
  CAPTURE(cluster);
  Setup setup;
  setup.url = cluster ? memo_test::redis::cluster_url() : memo_test::redis::standalone_url();
  MEMO_NEED_REDIS(setup.url);
  // Renewed every third of it: the holder keeps it for far longer. A renewal a whole lease
  // late lapses it (tested below), so the lease leaves a busy machine room: under
  // sanitizers a renewer stalled for 5 s still renews in time.
  const auto lease = std::chrono::milliseconds(1000 * memo_test::kSanitizerSlowdown);
  setup.options.lease = lease;
  Warnings warnings;
  auto holder = open(setup, warnings);
  auto waiter = open(setup, warnings);
  memo::MissTicket held = holder->begin_miss(key_of(1), t0);
  REQUIRE(held.lease);
  std::atomic<bool> published{false};
  auto waiting = std::async(std::launch::async, [&] {
    memo::MissTicket ticket = waiter->begin_miss(key_of(1), t0);
    return std::make_pair(published.load(), std::move(ticket));
  });
  // More than a lease passes: the renewer keeps the lease, so the waiter keeps waiting.
  CHECK(waiting.wait_for(3 * lease / 2) == std::future_status::timeout);
  published.store(true);
  held.lease->publish(value("computed once", {"hello"}));
  REQUIRE(waiting.wait_for(20s) == std::future_status::ready);
  auto [after_publish, ticket] = waiting.get();
  CHECK(after_publish);
  CHECK_FALSE(ticket.lease);
  CHECK(bytes_of(ticket.published) == "computed once");
  CHECK(messages_of(ticket.published) == std::vector<std::string>{"hello"});
  CHECK(warnings.joined() == "");  // a lapsed lease would say so here
}

TEST_CASE("redis store: a lease dropped unpublished (the function threw) hands over at once", "[redis]") {
  Setup setup;
  setup.url = memo_test::redis::standalone_url();
  MEMO_NEED_REDIS(setup.url);
  setup.options.lease = 30s;  // a takeover by lapse would take far longer than the test allows
  Warnings warnings;
  auto holder = open(setup, warnings);
  auto waiter = open(setup, warnings);
  memo::MissTicket held = holder->begin_miss(key_of(2), t0);
  REQUIRE(held.lease);
  auto waiting = std::async(std::launch::async, [&] { return waiter->begin_miss(key_of(2), t0); });
  CHECK(waiting.wait_for(300ms) == std::future_status::timeout);
  held.lease.reset();  // as when the function throws: nothing cached
  REQUIRE(waiting.wait_for(10s) == std::future_status::ready);
  memo::MissTicket taken = waiting.get();
  CHECK_FALSE(taken.published);
  REQUIRE(taken.lease);
  RemovedList removed;
  CHECK(holder->find(key_of(2), t0, removed) == nullptr);
  taken.lease->publish(value("second try"));
  CHECK(bytes_of(holder->find(key_of(2), t0, removed)) == "second try");
  CHECK(warnings.lines().empty());
}

TEST_CASE("redis store: a lease that lapses while its renewal waits on a stalled server is a "
          "warning - a lease taken by an erase is not", "[redis]") {
  PrivateServer server;  // it is made to sleep
  MEMO_NEED_REDIS(server.url());
  Setup setup;
  setup.url = server.url() + "?timeout_ms=30000";  // a renewal waits out the stall
  // Renewed every third of it; long enough under sanitizers that a renewal is never a
  // whole lease late on a busy machine unless the server stalls.
  const auto lease = std::chrono::milliseconds(300 * memo_test::kSanitizerSlowdown);
  setup.options.lease = lease;
  Warnings warnings;
  auto holder = open(setup, warnings);
  auto other = open(setup, warnings);

  // An erase takes one lease away: the renewer finds it gone, quietly.
  memo::MissTicket erased = holder->begin_miss(key_of(1), t0);
  REQUIRE(erased.lease);
  RemovedList removed;
  other->erase(key_of(1), nullptr, RemovalCause::erased, removed);
  std::this_thread::sleep_for(3 * lease);  // several renewal periods
  CHECK(warnings.lines().empty());

  // The server stalls for longer than the lease: the renewal sent meanwhile is answered
  // after the lease lapsed.
  memo::MissTicket held = holder->begin_miss(key_of(2), t0);
  REQUIRE(held.lease);
  auto sleeper = std::async(std::launch::async, [&] {
    Admin admin(server.node(), 20s);
    return admin.run({"DEBUG", "SLEEP", std::to_string(3 * lease.count() / 1000.0)});
  });
  CHECK(sleeper.get() == "OK");
  CHECK(eventually([&] { return warnings.contains("lapsed before their renewal reached the server"); }));
  INFO(warnings.joined());
  // Its result is handed back but not stored; the key is free for the next computation.
  CHECK(bytes_of(held.lease->publish(value("late"))) == "late");
  CHECK(other->find(key_of(2), t0, removed) == nullptr);
  memo::MissTicket next = other->begin_miss(key_of(2), t0);
  CHECK(next.lease);
}

TEST_CASE("redis store: many threads over several instances missing one key compute once", "[redis]") {
  Setup setup;
  setup.url = memo_test::redis::standalone_url();
  MEMO_NEED_REDIS(setup.url);
  Warnings warnings;
  constexpr int kInstances = 4, kThreadsEach = 4;
  std::vector<std::unique_ptr<memo::RedisStore>> stores;
  for (int i = 0; i < kInstances; ++i) stores.push_back(open(setup, warnings));
  std::atomic<int> computed{0};
  std::vector<std::string> got(kInstances * kThreadsEach);
  memo_test::StartLine start(kInstances * kThreadsEach);
  memo_test::run_threads(kInstances * kThreadsEach, [&](int t) {
    auto& store = *stores[static_cast<std::size_t>(t % kInstances)];
    start.arrive_and_wait();
    memo::MissTicket ticket = store.begin_miss(key_of(3), t0);
    if (ticket.lease) {
      computed.fetch_add(1);
      std::this_thread::sleep_for(200ms);
      ticket.published = ticket.lease->publish(value(numbered("by ", t)));
    }
    got[static_cast<std::size_t>(t)] = bytes_of(ticket.published);
  });
  CHECK(computed.load() == 1);
  CHECK(std::set<std::string>(got.begin(), got.end()).size() == 1);
  CHECK(got[0].rfind("by ", 0) == 0);
  CHECK(warnings.lines().empty());
}

// ---- faults ------------------------------------------------------------------------------------

TEST_CASE("redis fault: server down when the store is made, then back: warnings, no throw, reconnects", "[redis]") {
  PrivateServer server;
  MEMO_NEED_REDIS(server.url());
  const std::string url = server.url();
  const std::string with_password =
      "redis://default:hunter2@" + url.substr(std::string("redis://").size());
  server.kill();
  Setup setup;
  setup.url = url;
  Warnings warnings;
  auto store = open(setup, warnings);
  RemovedList removed;
  CHECK(store->find(key_of(1), t0, removed) == nullptr);
  EntryPtr mine = value("computed locally");
  CHECK(store->insert(key_of(1), mine, t0, removed) == mine);
  memo::MissTicket ticket = store->begin_miss(key_of(1), t0);
  CHECK_FALSE(ticket.published);
  CHECK_FALSE(ticket.lease);  // coordination failed: the caller computes by itself
  CHECK_NOTHROW(store->clear(removed));
  CHECK_NOTHROW(store->erase(key_of(1), nullptr, RemovalCause::erased, removed));
  CHECK(store->size() == 0);
  CHECK(warnings.contains("unreachable"));
  CHECK(warnings.contains(memo_test::redis::host_port(url).host + ":" +
                          std::to_string(memo_test::redis::host_port(url).port)));

  // Credentials never appear in a warning.
  Setup secret = setup;
  secret.url = with_password;
  Warnings secret_warnings;
  auto guarded = open(secret, secret_warnings);
  guarded->find(key_of(1), t0, removed);
  REQUIRE_FALSE(secret_warnings.lines().empty());
  CHECK(secret_warnings.joined().find("hunter2") == std::string::npos);

  // The server comes back: calls reconnect by themselves.
  REQUIRE(server.start());
  CHECK(eventually([&] {
    EntryPtr e = value("after the outage");
    store->insert(key_of(2), e, t0, removed);
    return bytes_of(store->find(key_of(2), t0, removed)) == "after the outage";
  }));
  CHECK(warnings.contains("reachable again"));
}

TEST_CASE("redis fault: server killed and restarted while threads use it", "[redis]") {
  PrivateServer server;
  MEMO_NEED_REDIS(server.url());
  Setup setup;
  setup.url = server.url();
  setup.options = small_chunks();
  setup.options.command_timeout = 1000ms;
  Warnings warnings;
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> wrong{0}, hits{0}, after_restart_hits{0};
  std::atomic<bool> restarted{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto store = open(setup, warnings);
      RemovedList removed;
      for (std::uint64_t i = 0; !stop.load(); ++i) {
        const std::uint64_t k = (i * 7 + static_cast<std::uint64_t>(t)) % 16;
        const std::string expected = uniform(k % 2 ? 3000 : 50, static_cast<char>('a' + k));
        EntryPtr found = store->find(key_of(k), t0, removed);
        if (found) {
          hits.fetch_add(1);
          if (restarted.load()) after_restart_hits.fetch_add(1);
          if (bytes_of(found) != expected) wrong.fetch_add(1);
          continue;
        }
        memo::MissTicket ticket = store->begin_miss(key_of(k), t0);
        EntryPtr computed = value(expected);
        if (ticket.published && bytes_of(ticket.published) != expected) wrong.fetch_add(1);
        if (ticket.lease) ticket.lease->publish(computed);
        if (!ticket.published && !ticket.lease) store->insert(key_of(k), computed, t0, removed);
      }
    });
  }
  std::this_thread::sleep_for(1s);
  server.kill();
  std::this_thread::sleep_for(1s);
  REQUIRE(server.start());
  restarted.store(true);
  const bool recovered = eventually([&] { return after_restart_hits.load() > 50; }, 30s);
  stop.store(true);
  for (auto& thread : threads) thread.join();
  INFO(warnings.joined());
  CHECK(recovered);
  CHECK(wrong.load() == 0);
  CHECK(hits.load() > 0);
  CHECK((warnings.contains("connection lost") || warnings.contains("unreachable")));
}

TEST_CASE("redis fault: a value corrupted inside Redis is a miss with a warning", "[redis]") {
  const bool chunked = GENERATE(false, true);
  CAPTURE(chunked);
  Setup setup;
  setup.url = memo_test::redis::standalone_url();
  MEMO_NEED_REDIS(setup.url);
  setup.options = small_chunks();
  Warnings warnings;
  auto store = open(setup, warnings);
  RemovedList removed;
  const std::string bytes = uniform(chunked ? 5000 : 80, 'v');
  store->insert(key_of(1), value(bytes), t0, removed);
  REQUIRE(bytes_of(store->find(key_of(1), t0, removed)) == bytes);
  Admin admin(setup.url);
  const std::string tag = std::string("memo:{") + setup.ns.hex() + "." + key_of(1).hex() + "}:";
  if (chunked) {
    const auto chunks = memo_test::redis::split_lines(admin.run({"KEYS", tag + "c:*"}));
    REQUIRE(chunks.size() == 5);
    CHECK(admin.run({"SETRANGE", chunks[2], "10", "X"}) == "1000");
  } else {
    CHECK(admin.run({"HSET", tag + "m", "data", uniform(80, 'w')}) == "0");
  }
  CHECK(store->find(key_of(1), t0, removed) == nullptr);
  CHECK(warnings.contains("corrupt value"));
  CHECK(warnings.contains("checksum mismatch"));
  // Dropped, so the key can be computed and stored again.
  CHECK(admin.run({"EXISTS", tag + "m"}) == "0");
  store->insert(key_of(1), value(bytes), t0, removed);
  CHECK(bytes_of(store->find(key_of(1), t0, removed)) == bytes);

  // A chunk whose length changed (APPEND) is caught before its bytes are used.
  if (chunked) {
    const auto chunks = memo_test::redis::split_lines(admin.run({"KEYS", tag + "c:*"}));
    REQUIRE_FALSE(chunks.empty());
    admin.run({"APPEND", chunks[0], "tail"});
    CHECK(store->find(key_of(1), t0, removed) == nullptr);
    CHECK(warnings.contains("bytes where its manifest says"));
  }
  // And a mangled manifest.
  store->insert(key_of(2), value("fine"), t0, removed);
  admin.run({"HSET", std::string("memo:{") + setup.ns.hex() + "." + key_of(2).hex() + "}:m", "n", "99999999999999"});
  CHECK(store->find(key_of(2), t0, removed) == nullptr);
  CHECK(warnings.contains("manifest sizes disagree"));
}

TEST_CASE("redis fault: a slow server times out with a warning, then serves again", "[redis]") {
  PrivateServer server;
  MEMO_NEED_REDIS(server.url());
  Setup setup;
  setup.url = server.url() + "?timeout_ms=300";
  Warnings warnings;
  auto store = open(setup, warnings);
  RemovedList removed;
  store->insert(key_of(1), value("one"), t0, removed);
  REQUIRE(bytes_of(store->find(key_of(1), t0, removed)) == "one");

  auto sleeper = std::async(std::launch::async, [&] {
    Admin admin(server.node(), 20s);
    return admin.run({"DEBUG", "SLEEP", "4"});
  });
  REQUIRE(eventually([&] { return !memo_test::redis::ping(server.node()); }));  // asleep now
  const auto start = std::chrono::steady_clock::now();
  EntryPtr slow = store->find(key_of(1), t0, removed);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(slow == nullptr);
  CHECK(took < 3s);  // the 300 ms timeout, not the 4 s sleep (generous for a loaded machine)
  CHECK(warnings.contains("did not answer in time"));
  CHECK(sleeper.get() == "OK");
  CHECK(eventually([&] { return bytes_of(store->find(key_of(1), t0, removed)) == "one"; }));
}

TEST_CASE("redis fault: one sleeping cluster node does not hold up keys on the others", "[redis]") {
  memo_test::redis::PrivateCluster cluster;
  MEMO_NEED_REDIS(cluster.url());
  Setup setup;
  // The node sleeps far longer than the other keys need, also under sanitizers; the
  // timeout outlasts the sleep, so the sleeping node's key just waits.
  const int sleep_seconds = 3 * memo_test::kSanitizerSlowdown;
  setup.url = cluster.url() + "?timeout_ms=" + std::to_string((sleep_seconds + 10) * 1000);
  Warnings warnings;
  auto store = open(setup, warnings);
  RemovedList removed;
  // Find keys whose entry lives on each master (the namespace's own keys sit on one).
  const auto masters = memo_test::redis::cluster_masters(setup.url);
  REQUIRE(masters.size() == 3);
  for (std::uint64_t i = 0; i < 60; ++i) store->insert(key_of(i), value(numbered("v", i)), t0, removed);
  Admin any(setup.url);
  auto port_of = [&](const std::string& key) { return any.owner_of(key).port; };
  const int function_node = port_of(std::string("memo:{") + setup.ns.hex() + "}:meta");
  const int global_node = port_of("memo:clear-all");
  // The sleeping node: one that holds neither the function's keys nor the global one.
  memo_test::redis::HostPort sleepy{};
  for (const auto& master : masters) {
    if (master.port != function_node && master.port != global_node) sleepy = master;
  }
  REQUIRE(sleepy.port != 0);  // two keys occupy at most two of the three masters
  std::vector<std::uint64_t> on_sleepy, elsewhere;
  for (std::uint64_t i = 0; i < 60; ++i) {
    const int node = port_of(std::string("memo:{") + setup.ns.hex() + "." + key_of(i).hex() + "}:m");
    (node == sleepy.port ? on_sleepy : elsewhere).push_back(i);
  }
  REQUIRE_FALSE(on_sleepy.empty());
  REQUIRE_FALSE(elsewhere.empty());

  auto sleeper = std::async(std::launch::async, [&] {
    Admin admin(sleepy, std::chrono::seconds(sleep_seconds + 20));
    return admin.run({"DEBUG", "SLEEP", std::to_string(sleep_seconds)});
  });
  REQUIRE(eventually([&] { return !memo_test::redis::ping(sleepy); }));  // asleep now
  auto blocked = std::async(std::launch::async, [&] { return store->find(key_of(on_sleepy[0]), t0, removed); });
  std::this_thread::sleep_for(100ms);
  const auto start = std::chrono::steady_clock::now();
  RemovedList mine;
  std::size_t found = 0;
  if (elsewhere.size() > 10) elsewhere.resize(10);
  for (auto i : elsewhere) found += bytes_of(store->find(key_of(i), t0, mine)) == numbered("v", i);
  const auto took = std::chrono::steady_clock::now() - start;
  const bool still_blocked = blocked.wait_for(0ms) == std::future_status::timeout;
  CHECK(found == elsewhere.size());
  CHECK(still_blocked);  // the sleeping node's key was still waiting meanwhile
  CHECK(took < std::chrono::seconds(sleep_seconds) / 2);  // and the others did not wait for it
  CHECK(bytes_of(blocked.get()) == numbered("v", on_sleepy[0]));  // it just waited
  CHECK(sleeper.get() == "OK");
}

TEST_CASE("redis fault: a full server (maxmemory, noeviction) warns and the value is still returned", "[redis]") {
  PrivateServer server({"--maxmemory-policy", "noeviction"});
  MEMO_NEED_REDIS(server.url());
  Setup setup;
  setup.url = server.url();
  setup.options = small_chunks();
  Warnings warnings;
  auto store = open(setup, warnings);
  RemovedList removed;
  store->insert(key_of(1), value("stored before"), t0, removed);
  Admin admin(server.node());
  admin.run({"SET", "ballast", std::string(4 << 20, 'b')});
  const long long used = std::stoll([&] {
    const std::string info = admin.run({"INFO", "memory"});
    const auto at = info.find("used_memory:") + std::string("used_memory:").size();
    return info.substr(at, info.find('\r', at) - at);
  }());
  admin.run({"CONFIG", "SET", "maxmemory", std::to_string(used / 2)});

  EntryPtr fresh = value(uniform(3000, 'f'));
  CHECK(store->insert(key_of(2), fresh, t0, removed) == fresh);
  CHECK(warnings.contains("server is full"));
  CHECK(store->find(key_of(2), t0, removed) == nullptr);
  // Hits still work on a full server, and so does the lease (allow-oom scripts).
  CHECK(bytes_of(store->find(key_of(1), t0, removed)) == "stored before");
  memo::MissTicket ticket = store->begin_miss(key_of(3), t0);
  REQUIRE(ticket.lease);
  EntryPtr computed = value("computed on a full server");
  CHECK(ticket.lease->publish(computed) == computed);
  CHECK(store->find(key_of(3), t0, removed) == nullptr);
  // The lease was released: the next miss gets it at once.
  memo::MissTicket again = store->begin_miss(key_of(3), t0);
  CHECK(again.lease);
  again.lease.reset();
  // Room again: writes work.
  admin.run({"CONFIG", "SET", "maxmemory", "0"});
  store->insert(key_of(2), fresh, t0, removed);
  CHECK(bytes_of(store->find(key_of(2), t0, removed)) == uniform(3000, 'f'));
}

// ---- the cluster follows slots that move -------------------------------------------------------

TEST_CASE("redis cluster: entries spread over the masters - a moved slot is followed (MOVED and ASK)", "[redis]") {
  memo_test::redis::PrivateCluster cluster;
  MEMO_NEED_REDIS(cluster.url());
  Setup setup;
  setup.url = cluster.url();
  setup.options = small_chunks();
  Warnings warnings;
  auto store = open(setup, warnings);
  RemovedList removed;
  for (std::uint64_t i = 0; i < 30; ++i) store->insert(key_of(i), value(uniform(i % 3 ? 50 : 2500, 'a')), t0, removed);
  const auto masters = memo_test::redis::cluster_masters(setup.url);
  std::size_t nodes_with_entries = 0;
  for (const auto& master : masters) nodes_with_entries += count_keys(master, setup.ns, "m") > 0;
  CHECK(nodes_with_entries == 3);

  // Move the slot of key 0 (3 chunks + manifest) to another master, by hand, the way
  // redis-cli --cluster reshard does: the store's slot map is now wrong.
  const std::string tag = std::string("memo:{") + setup.ns.hex() + "." + key_of(0).hex() + "}:";
  Admin any(setup.url);
  const std::string slot = std::to_string(any.integer({"CLUSTER", "KEYSLOT", tag + "m"}));
  memo_test::redis::HostPort source{}, target{};
  for (const auto& master : masters) {
    Admin admin(master);
    if (admin.integer({"CLUSTER", "COUNTKEYSINSLOT", slot}) > 0) source = master;
  }
  REQUIRE(source.port != 0);
  target = masters[0].port == source.port ? masters[1] : masters[0];
  Admin from(source), to(target);
  const std::string from_id = from.run({"CLUSTER", "MYID"});
  const std::string to_id = to.run({"CLUSTER", "MYID"});
  REQUIRE(to.run({"CLUSTER", "SETSLOT", slot, "IMPORTING", from_id}) == "OK");
  REQUIRE(from.run({"CLUSTER", "SETSLOT", slot, "MIGRATING", to_id}) == "OK");
  // Half-way: the manifest moves first, the chunks stay. Reads now meet ASK (for the
  // manifest, gone from the source) and plain answers (chunks, still there).
  REQUIRE(from.run({"MIGRATE", target.host, std::to_string(target.port), tag + "m", "0", "5000"}) == "OK");
  CHECK(bytes_of(store->find(key_of(0), t0, removed)) == uniform(2500, 'a'));
  // Finish the move: every key of the slot, then the slot itself.
  for (const auto& key : memo_test::redis::split_lines(from.run({"CLUSTER", "GETKEYSINSLOT", slot, "100"}))) {
    if (!key.empty()) from.run({"MIGRATE", target.host, std::to_string(target.port), key, "0", "5000"});
  }
  for (const auto& master : masters) {
    Admin admin(master);
    admin.run({"CLUSTER", "SETSLOT", slot, "NODE", to_id});
  }
  // The store still believes the slot is on the source: MOVED, then the refreshed map.
  CHECK(bytes_of(store->find(key_of(0), t0, removed)) == uniform(2500, 'a'));
  CHECK(store->erase(key_of(0), nullptr, RemovalCause::erased, removed));
  store->insert(key_of(0), value("moved"), t0, removed);
  CHECK(bytes_of(store->find(key_of(0), t0, removed)) == "moved");
  for (std::uint64_t i = 1; i < 30; ++i) CHECK(store->find(key_of(i), t0, removed) != nullptr);
  CHECK(warnings.lines().empty());
}

#endif  // MEMO_HAVE_HIREDIS
