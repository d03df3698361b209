// The cache layer's seams: races between clear, session disconnect and a running miss,
// user callbacks that call back into memo, the hit path's per-thread slots, and the
// signatures people write. Each defect test names what it guards against.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <random>
#include <set>
#include <thread>

#include "support/disk_testing.h"
#include "support/test_helpers.h"

using namespace std::chrono_literals;

namespace {

// Runs `body` on another thread and fails (instead of hanging the suite) if it does not
// finish within a generous deadline: a deadlock is a failure, not a timeout of ctest.
template <class Body>
bool finishes(Body body, std::chrono::seconds deadline = std::chrono::seconds(30)) {
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  std::thread([body = std::move(body), done] {
    body();
    done->set_value();
  }).detach();
  return future.wait_for(deadline) == std::future_status::ready;
}

// An object that knows whether it was released once, and only once.
struct Tracked {
  explicit Tracked(int v) : value(v) { made.fetch_add(1); }
  ~Tracked() { destroyed.fetch_add(1); }
  Tracked(const Tracked&) = delete;
  Tracked& operator=(const Tracked&) = delete;
  int value;
  std::atomic<int> releases{0};
  static inline std::atomic<int> made{0};
  static inline std::atomic<int> destroyed{0};
};

struct TrackedCounts {
  int made, destroyed;
};
TrackedCounts tracked_now() { return {Tracked::made.load(), Tracked::destroyed.load()}; }

// A one-shot gate: wait() blocks until open() (or a deadline, so a broken test fails).
class Gate {
 public:
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool wait(std::chrono::seconds deadline = std::chrono::seconds(30)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, deadline, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

using disk_test::TempDir;

}  // namespace

// ---- defect 1: a miss owns its observer ----------------------------------------------

namespace {
struct CanaryObserver : memo::MissObserver {
  static constexpr std::uint64_t kAlive = 0xC0FFEE;
  std::uint64_t canary = kAlive;
  std::atomic<int>* broken;
  explicit CanaryObserver(std::atomic<int>* b) : broken(b) {}
  ~CanaryObserver() override { canary = 0; }
  void miss_finished(const memo::MissEvent&, std::chrono::nanoseconds, bool) override {
    if (canary != kAlive) broken->fetch_add(1);
  }
};
}  // namespace

TEST_CASE("layer: a nested miss that replaces the default observer does not free the outer miss's") {
  // Before the fix, the outer miss held a reference into a thread-local that the inner
  // miss reassigned: the replaced observer was freed while the outer miss still used it
  // (ASan: heap-use-after-free; Release: a crash).
  std::atomic<int> broken{0};
  memo::set_default_observer(std::make_shared<CanaryObserver>(&broken));
  auto inner = memo::cache_data([](int x) { return x + 1; });
  auto outer = memo::cache_data([&inner, &broken](int x) {
    memo::set_default_observer(std::make_shared<CanaryObserver>(&broken));
    return inner(x) * 2;  // a nested miss takes the new default
  });
  CHECK(outer(20) == 42);
  CHECK(broken == 0);
  memo::set_default_observer(nullptr);
}

// ---- defect 2: every way out of a miss finishes its flight ---------------------------

TEST_CASE("layer: a disk entry whose size is absurd is a warning and a miss, and never strands the key") {
  // A sparse 1 TiB file named like the entry: loading it used to throw bad_alloc to the
  // first caller, leave the flight unfinished (the same thread then got
  // RecursiveCallError, every other thread waited forever).
  TempDir dir;
  auto observer = memo_test::recorder();
  std::atomic<int> runs{0};
  auto f = memo::cache_data([&runs](int x) { ++runs; return std::vector<int>(4, x); },
                            {.name = "layer.sparse", .show_spinner = false, .observer = observer,
                             .persist = memo::Persist::disk, .persist_directory = dir.path});
  const auto file = dir.path / f.identity().hex() / (f.key(7).hex() + ".memo");
  std::filesystem::create_directories(file.parent_path());
  {
    const int fd = ::open(file.c_str(), O_CREAT | O_WRONLY, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, off_t{1} << 40) == 0);
    ::close(fd);
  }
  CHECK(f(7) == std::vector<int>(4, 7));
  CHECK(f(7) == std::vector<int>(4, 7));  // the same thread, again: no RecursiveCallError
  f.clear();
  std::atomic<int> served{0};
  CHECK(finishes([&] {
    memo_test::run_threads(4, [&](int) {
      if (f(8) == std::vector<int>(4, 8)) ++served;
    });
  }));
  CHECK(served == 4);
  f.clear();
}

namespace {
struct Unencodable {
  int value = 0;
  template <class Archive>
  void save(Archive& archive) const {
    if (value == 13) throw std::runtime_error("cannot encode 13");
    archive(value);
  }
  template <class Archive>
  void load(Archive& archive) {
    archive(value);
  }
};
}  // namespace

TEST_CASE("layer: an exception thrown outside the function (a failing encode) finishes the flight") {
  auto f = memo::cache_data([](int x) { return Unencodable{x}; }, {.show_spinner = false});
  CHECK_THROWS_WITH(f(13), Catch::Contains("cannot encode 13"));
  CHECK_THROWS_WITH(f(13), Catch::Contains("cannot encode 13"));  // not RecursiveCallError
  CHECK(f(12).value == 12);
  f.clear();
}

// ---- defects 3 and 4: callbacks that call back into memo -----------------------------

TEST_CASE("layer: on_release may use global_stats, clear_all and make caches, from any thread") {
  // Releases used to run under the registry's mutex (a cache's last handle dropped in
  // all()) or the session registry's: such an on_release deadlocked within seconds.
  static std::atomic<int> released{0};
  auto declare = [] {
    return memo::cache_resource(
        [](int x) { return x; },
        {.max_entries = 4, .show_spinner = false, .on_release = [](int&) {
           ++released;
           (void)memo::global_stats();
           memo::cache_data_clear_all();
           auto helper = memo::cache_data([](int y) { return y * 3; }, {.show_spinner = false});
           (void)helper(released.load() % 7);
         }});
  };
  CHECK(finishes([&] {
    memo_test::run_threads(4, [&](int t) {
      auto r = declare();
      for (int i = 0; i < 300; ++i) {
        r(t * 1000 + i % 9);  // evicts: releases on this thread
        if (i % 50 == 0) memo::cache_resource_clear_all();
        if (i % 30 == 0) (void)memo::global_stats();
      }
    });
  }));
  declare().clear();
  CHECK(released > 0);
}

TEST_CASE("layer: on_release during disconnect may make session-scoped caches and stalls no one else") {
  // disconnect() used to hold the process-wide session-cache mutex while it ran
  // on_release: creating a session-scoped cache there deadlocked at once, and a slow
  // on_release stalled every other session's disconnect and every session cache's creation.
  static Gate others_done;
  static std::atomic<int> made_inside{0};
  auto declare = [] {
    return memo::cache_resource(
        [](const std::string& who) { return who; },
        {.show_spinner = false,
         .on_release = [](std::string& who) {
           if (who == "slow") {
             auto inner = memo::cache_resource([](int x) { return x; },
                                               {.show_spinner = false, .scope = memo::Scope::session});
             made_inside += *inner(1);
             others_done.wait();  // holds its disconnect until the other one finished
           }
         },
         .scope = memo::Scope::session});
  };
  memo::Session slow("slow"), quick("quick");
  {
    memo::SessionScope in(slow);
    declare()("slow");
  }
  {
    memo::SessionScope in(quick);
    declare()("quick");
  }
  std::thread slow_disconnect([&] { slow.disconnect(); });
  // The quick session disconnects, and a new session cache is made, while the slow
  // on_release is still running: neither may wait for it.
  CHECK(finishes([&] {
    while (made_inside.load() == 0) std::this_thread::yield();
    quick.disconnect();
    auto another = memo::cache_resource([](int x) { return x + 1; },
                                        {.show_spinner = false, .scope = memo::Scope::session});
    memo::SessionScope in(quick);
    CHECK(*another(1) == 2);
  }));
  others_done.open();
  slow_disconnect.join();
  CHECK(made_inside == 1);
}

// ---- defect 5: a clear() that returned is never undone by a write in flight ----------

TEST_CASE("layer: clear() racing with a persisting miss never brings the old value back") {
  // The miss checked for a clear, then wrote its file (temporary, fsync, rename): a clear
  // landing during the write removed nothing, and the rename put the old value back
  // (13 of 400 before the fix). The same for clear(args), where the old file could also
  // land over a newer value on disk (8 of 400).
  TempDir dir;
  std::atomic<int> version{0};
  auto f = memo::cache_data([&version](int) { return version.fetch_add(1) + 1; },
                            {.name = "layer.persist_race", .show_spinner = false,
                             .observer = memo_test::recorder(), .persist = memo::Persist::disk,
                             .persist_directory = dir.path});
  int stale_memory = 0, stale_disk = 0;
  for (int round = 0; round < 200; ++round) {
    const bool whole = round % 2 == 0;
    std::thread writer([&] { (void)f(round); });
    // Clear as soon as the writer's function has run: its file is being written now.
    while (version.load() == 0) std::this_thread::yield();
    const int before_clear = version.load();
    if (whole) {
      f.clear();
    } else {
      f.clear(round);
    }
    const int after = f(round);
    writer.join();
    if (after <= before_clear) ++stale_memory;
    // What the next process would read: the file, decoded directly.
    memo::DiskCache disk(dir.path, f.identity(), memo::detail::value_fingerprint<int>(),
                         std::nullopt, std::nullopt, nullptr);
    if (auto file = disk.load(f.key(round))) {
      if (memo::Codec<int>::decode(file->payload.view()) != f(round)) ++stale_disk;
    }
    version = 0;
    f.clear();
  }
  CHECK(stale_memory == 0);
  CHECK(stale_disk == 0);
}

TEST_CASE("layer: a miss reading the disk tier during clear() or clear(args) never brings the cleared value back") {
  // clear(args) retired the key's flight before removing its entry and file: a miss that
  // registered in between missed in memory, read the file before it was deleted and
  // published the cleared value after clear(args) returned. clear() likewise, for a miss
  // that registered after its runs were retired and read a file not yet swept.
  TempDir dir;
  std::atomic<int> version{0};
  auto f = memo::cache_data([&version](int) { return version.fetch_add(1) + 1; },
                            {.name = "layer.disk_read_race", .show_spinner = false,
                             .persist = memo::Persist::disk, .persist_directory = dir.path});
  const memo::DiskCache disk(dir.path, f.identity(), memo::detail::value_fingerprint<int>(),
                             std::nullopt, std::nullopt, nullptr);
  constexpr int kCleared = -1;
  const memo::Payload cleared = memo::Codec<int>::encode(kCleared);
  std::minstd_rand rng(11);
  int stale = 0;
  for (int round = 0; round < 600; ++round) {
    // Only the file holds the key, so the reader's miss goes to disk.
    REQUIRE(disk.store(f.key(round), cleared.view(), {}));
    std::atomic<bool> go{false};
    std::thread reader([&] {
      while (!go.load()) std::this_thread::yield();
      (void)f(round);
    });
    go.store(true);
    // Land the clear at varying points of the reader's miss.
    for (auto spin = rng() % 4000; spin > 0; --spin) std::atomic_signal_fence(std::memory_order_seq_cst);
    if (round % 2 == 0) {
      f.clear();
    } else {
      f.clear(round);
    }
    if (f(round) == kCleared) ++stale;
    reader.join();
  }
  CHECK(stale == 0);
  f.clear();
}

// ---- defects 6 and 7: every object the cache makes is released exactly once ----------

TEST_CASE("layer: disconnect during a session-scoped miss still releases the object once") {
  // The miss inserted into the store that the disconnect had already dropped: never
  // released, and counted in entries and bytes forever.
  static Gate in_function, go_on;
  static std::atomic<int> released{0};
  auto declare = [] {
    return memo::cache_resource(
        [](int x) {
          in_function.open();
          go_on.wait();
          return std::make_shared<Tracked>(x);
        },
        {.show_spinner = false, .on_release = [](Tracked& t) { ++t.releases; ++released; },
         .weigh = [](const Tracked&) { return std::size_t{100}; },
         .scope = memo::Scope::session});
  };
  auto cached = declare();
  memo::Session user("user");
  std::shared_ptr<Tracked> got;
  std::thread miss([&] {
    memo::SessionScope in(user);
    got = cached(1);
  });
  REQUIRE(in_function.wait());
  user.disconnect();
  go_on.open();
  miss.join();
  REQUIRE(got);
  CHECK(released == 0);  // still in use by its caller
  CHECK(cached.stats().entries == 0);
  CHECK(cached.stats().bytes == 0);
  got.reset();
  CHECK(released == 1);
  user.disconnect();
  CHECK(released == 1);
}

TEST_CASE("layer: clear() or clear(args) during a cache_resource miss still releases its object once") {
  // The object was handed to its caller, never stored and never released (made 2,
  // released 1, deterministically).
  for (const bool whole : {true, false}) {
    static Gate* in_function;
    static Gate* go_on;
    Gate entered, proceed;
    in_function = &entered;
    go_on = &proceed;
    static std::atomic<int> released{0};
    released = 0;
    auto declare = [] {
      return memo::cache_resource(
          [](int x) {
            in_function->open();
            go_on->wait();
            return std::make_shared<Tracked>(x);
          },
          {.show_spinner = false, .on_release = [](Tracked& t) { ++t.releases; ++released; }});
    };
    auto cached = declare();
    std::shared_ptr<Tracked> got;
    std::thread miss([&] { got = cached(5); });
    REQUIRE(entered.wait());
    if (whole) {
      cached.clear();
    } else {
      cached.clear(5);
    }
    proceed.open();
    miss.join();
    REQUIRE(got);
    CHECK(got->releases == 0);
    auto weak = std::weak_ptr<Tracked>(got);
    got.reset();
    CHECK(released == 1);
    CHECK(weak.expired());
    CHECK(cached.stats().entries == 0);
    cached.clear();
    CHECK(released == 1);
  }
}

TEST_CASE("layer: under thrash with clears, every object made is released exactly once, on every store") {
  for (const auto& store : memo::store_names()) {
    if (!memo::make_store(store, {})->holds_objects()) continue;
    CAPTURE(store);
    const TrackedCounts start = tracked_now();
    static std::atomic<int> releases_seen{0}, double_releases{0};
    releases_seen = 0;
    double_releases = 0;
    auto declare = [&store] {
      return memo::cache_resource(
          [](int x) { return std::make_shared<Tracked>(x); },
          {.name = "layer.thrash." + store, .max_entries = 6, .store = store,
           .show_spinner = false, .on_release = [](Tracked& t) {
             if (t.releases.fetch_add(1) != 0) ++double_releases;
             ++releases_seen;
           }});
    };
    auto cached = declare();
    std::atomic<int> wrong{0};
    memo_test::run_threads(6, [&](int t) {
      std::mt19937 rng(static_cast<unsigned>(t) * 7919u + 1u);
      for (int i = 0; i < 2000 / memo_test::kSanitizerSlowdown; ++i) {
        const int key = static_cast<int>(rng() % 10);
        const unsigned action = rng() % 8;
        if (action == 0) {
          cached.clear(key);
        } else if (action == 1) {
          if (rng() % 8 == 0) cached.clear();
        } else if (cached(key)->value != key) {
          ++wrong;
        }
      }
    });
    CHECK(wrong == 0);
    cached.clear();
    const TrackedCounts end = tracked_now();
    const int made = end.made - start.made;
    CHECK(double_releases == 0);
    CHECK(releases_seen == made);
    // Every object is gone once released and unreferenced (hit slots of finished
    // threads are gone with them) -- except where the engine documents that it frees
    // removed entries later: cds_map's hazard-pointer reclamation drops its reference at
    // its next scan (cds_map.h, "Entry lifetime").
    if (store != "cds_map") CHECK(end.destroyed - start.destroyed == made);
  }
}

// ---- defects 8 and 9: byte budgets ---------------------------------------------------

TEST_CASE("layer: the process budget ignores session-scoped bytes it could never evict") {
  // One 20 kB session resource under a 10 kB budget made every global cache evict
  // everything on every insert: 15 calls over 5 keys ran the function 15 times.
  memo::set_process_byte_budget(10'000);
  auto session_blob = memo::cache_resource(
      [](int) { return std::vector<char>(20'000); },
      {.show_spinner = false, .weigh = [](const std::vector<char>& v) { return v.size(); },
       .scope = memo::Scope::session});
  memo::Session user("user");
  {
    memo::SessionScope in(user);
    session_blob(1);
  }
  int runs = 0;
  auto small = memo::cache_data([&runs](int x) { ++runs; return x; }, {.show_spinner = false});
  for (int round = 0; round < 3; ++round) {
    for (int key = 0; key < 5; ++key) CHECK(small(key) == key);
  }
  CHECK(runs == 5);
  user.disconnect();
  small.clear();
  memo::set_process_byte_budget(std::nullopt);
}

TEST_CASE("layer: a hit racing with eviction never leaves an entry beyond max_bytes' reach") {
  // A hit recorded its use after the entry it found had been evicted and replaced; the
  // record then named the old entry, and the replacement could never be evicted.
  for (const auto& store : memo::store_names()) {
    if (!memo::make_store(store, {})->holds_objects()) continue;
    CAPTURE(store);
    auto cached = memo::cache_data([](int x) { return std::vector<char>(100, char(x)); },
                                   {.name = "layer.budget_race." + store, .max_bytes = 4 * 110,
                                    .store = store, .show_spinner = false});
    std::atomic<bool> stop{false};
    std::thread hitter([&] {
      while (!stop) (void)cached(0);
    });
    for (int round = 0; round < 1500 / memo_test::kSanitizerSlowdown; ++round) {
      (void)cached(0);
      for (int key = 1; key <= 5; ++key) (void)cached(key);  // evicts 0 at some point
    }
    stop = true;
    hitter.join();
    // Every entry stored must still be evictable: fill with new keys; nothing may stay.
    for (int key = 100; key < 110; ++key) (void)cached(key);
    const memo::CacheStats s = cached.stats();
    CHECK(s.bytes <= 4 * 110);
    CHECK(s.entries <= 4);
    cached.clear();
    CHECK(cached.stats().bytes == 0);
  }
}

// ---- defect 10: ttl edge cases -------------------------------------------------------

TEST_CASE("layer: a huge ttl means never - a ttl of zero or below is refused when the cache is made") {
  int runs = 0;
  auto forever = memo::cache_data([&runs](int x) { ++runs; return x; },
                                  {.ttl = std::chrono::nanoseconds::max(), .show_spinner = false});
  forever(1);
  forever(1);
  CHECK(runs == 1);
  auto hours = memo::cache_data([&runs](int x) { ++runs; return x; },
                                {.ttl = std::chrono::hours::max(), .show_spinner = false});
  hours(2);
  hours(2);
  CHECK(runs == 2);
  CHECK_THROWS_AS(memo::cache_data([](int x) { return x; }, {.ttl = 0s}), std::invalid_argument);
  CHECK_THROWS_AS(memo::cache_data([](int x) { return x; }, {.ttl = -5ms}), std::invalid_argument);
  CHECK_THROWS_WITH(memo::cache_resource([](int x) { return x; }, {.ttl = 0s}),
                    Catch::Contains("ttl must be positive"));
  forever.clear();
  hours.clear();
}

TEST_CASE("layer: a huge ttl on a persisted cache reads its files back") {
  TempDir dir;
  int runs = 0;
  auto declare = [&] {
    return memo::cache_data([&runs](int x) { ++runs; return x; },
                            {.name = "layer.huge_ttl_disk", .ttl = std::chrono::nanoseconds::max(),
                             .show_spinner = false, .persist = memo::Persist::disk,
                             .persist_directory = dir.path});
  };
  auto f = declare();
  CHECK(f(3) == 3);
  memo::DiskCache disk(dir.path, f.identity(), memo::detail::value_fingerprint<int>(),
                       std::nullopt, std::nullopt, nullptr);
  CHECK(disk.load(f.key(3)).has_value());
  f.clear();
}

TEST_CASE("layer: ttl as fractional seconds, as a double duration or a number of seconds") {
  int runs = 0;
  auto f = memo::cache_data([&runs](int x) { ++runs; return x; },
                            {.ttl = std::chrono::duration<double>(0.05), .show_spinner = false});
  f(1);
  f(1);
  CHECK(runs == 1);
  std::this_thread::sleep_for(80ms);
  f(1);
  CHECK(runs == 2);
  auto g = memo::cache_data([&runs](int x) { ++runs; return x; }, {.ttl = 0.5, .show_spinner = false});
  g(1);
  g(1);
  CHECK(runs == 3);
  f.clear();
  g.clear();
}

// ---- the hit path ---------------------------------------------------------------------

TEST_CASE("layer: a thread's hit slot never serves an entry cleared, evicted, expired or refused") {
  struct Versioned {
    int version;
    bool healthy = true;
  };
  std::atomic<int> version{0};
  std::atomic<bool> healthy{true};
  auto declare = [&](std::optional<std::size_t> max_entries) {
    return memo::cache_resource(
        [&](int) { return Versioned{++version}; },
        {.name = max_entries ? "layer.slots.bounded" : "layer.slots.unbounded",
         .max_entries = max_entries, .show_spinner = false,
         .validate = [&](const Versioned&) { return healthy.load(); }});
  };
  for (auto max_entries : {std::optional<std::size_t>{}, std::optional<std::size_t>{1}}) {
    auto cached = declare(max_entries);
    std::atomic<int> seen_by_other{0};
    auto read_on_other_thread = [&] {
      std::thread([&] { seen_by_other = cached(1)->version; }).join();
      return seen_by_other.load();
    };
    const int first = cached(1)->version;
    CHECK(read_on_other_thread() == first);  // that thread's slot now holds it
    cached.clear();
    const int second = cached(1)->version;
    CHECK(second != first);
    CHECK(read_on_other_thread() == second);
    cached.clear(1);
    const int third = read_on_other_thread();
    CHECK(third != second);
    CHECK(cached(1)->version == third);
    if (max_entries) {
      cached(2);  // evicts 1
      CHECK(cached(1)->version != third);
    }
    healthy = false;
    const int before = cached(1)->version;  // refused: recomputed
    CHECK(before > third);
    healthy = true;
    cached.clear();
  }
}

TEST_CASE("layer: statistics count hits from every thread") {
  auto cached = memo::cache_resource([](int x) { return x; }, {.show_spinner = false});
  cached(1);
  memo_test::run_threads(8, [&](int) {
    for (int i = 0; i < 1000; ++i) (void)cached(1);
  });
  CHECK(cached.stats().hits == 8000);
  CHECK(cached.stats().misses == 1);
  cached.clear();
}

// ---- signatures people write ------------------------------------------------------------

TEST_CASE("layer: a const char* argument is hashed by its content") {
  int runs = 0;
  auto f = memo::cache_data([&runs](const char* text) { ++runs; return std::string(text); },
                            {.show_spinner = false});
  std::string a = "same", b = "same";  // two buffers, one content
  CHECK(f(a.c_str()) == "same");
  CHECK(f(b.c_str()) == "same");
  CHECK(runs == 1);
  CHECK(f("other") == "other");
  CHECK(runs == 2);
  CHECK(memo::hash_of("abc") == memo::hash_of(static_cast<const char*>("abc")));
  f.clear();
}

TEST_CASE("layer: unhashed<T&> passes a connection by reference, left out of the key") {
  struct Db {
    int queries = 0;
    int fetch(int n) { ++queries; return n * 10; }
  };
  auto query = memo::cache_data([](memo::unhashed<Db&> db, int n) { return db->fetch(n); },
                                {.show_spinner = false});
  Db first, second;
  CHECK(query(first, 4) == 40);
  CHECK(query(second, 4) == 40);  // the connection is not part of the key
  CHECK(first.queries == 1);
  CHECK(second.queries == 0);
  query.clear();
}

TEST_CASE("layer: a lambda passes straight to an unhashed<std::function> parameter") {
  auto apply = memo::cache_data(
      [](memo::unhashed<std::function<int(int)>> fn, int x) { return fn(x); },
      {.show_spinner = false});
  CHECK(apply([](int x) { return x * 2; }, 21) == 42);
  CHECK(apply([](int x) { return x * 3; }, 21) == 42);  // same key: the function is unhashed
  apply.clear();
}

TEST_CASE("layer: cache_resource of a type that can be neither copied nor moved, returned by value") {
  struct Pinned {
    explicit Pinned(int v) : value(v) {}
    Pinned(const Pinned&) = delete;
    Pinned(Pinned&&) = delete;
    int value;
  };
  auto make = memo::cache_resource([](int v) { return Pinned(v); }, {.show_spinner = false});
  const auto a = make(3);
  CHECK(a->value == 3);
  CHECK(make(3).get() == a.get());
  make.clear();
}
