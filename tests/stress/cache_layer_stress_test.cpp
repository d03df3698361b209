// The cache layer under mixed traffic from more threads than cores: hits, misses,
// clear(args), clear(), clear_all, ttl expiry, eviction, validate refusals, functions
// that throw, session-scoped resources with connects and disconnects, and a persisted
// cache_data -- over every engine that holds objects. Checked afterwards:
//   - every call returned the value of its own arguments;
//   - every object the cache made got on_release exactly once, once it was cleared
//     and every handle dropped (none twice, none never);
//   - statistics agree: nothing left stored after the final clears;
//   - nothing deadlocked (each run must finish; ctest's timeout is the backstop).
// Each engine runs 0.25 s by default, MEMO_STRESS_SECONDS=<s> for longer:
//   build/release/tests/memo_stress "cache layer stress*" -s
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

#include "support/test_helpers.h"

using namespace std::chrono_literals;

namespace {

std::chrono::duration<double> time_per_run() {
  double seconds = 0.25;
  if (const char* env = std::getenv("MEMO_STRESS_SECONDS")) {
    if (std::atof(env) > 0) seconds = std::atof(env);
  }
  return std::chrono::duration<double>(seconds);
}

struct Counted {
  explicit Counted(int k) : key(k) { made.fetch_add(1); }
  const int key;
  std::atomic<int> releases{0};
  static inline std::atomic<int> made{0};
  static inline std::atomic<int> released{0};
  static inline std::atomic<int> released_twice{0};
};

void release(Counted& c) {
  if (c.releases.fetch_add(1) != 0) Counted::released_twice.fetch_add(1);
  Counted::released.fetch_add(1);
}

}  // namespace

TEST_CASE("cache layer stress: mixed traffic keeps values right and releases exactly once") {
  const char* dir_template = "/tmp/memo-layer-stress-XXXXXX";
  std::vector<char> dir_buffer(dir_template, dir_template + std::strlen(dir_template) + 1);
  const std::filesystem::path dir = ::mkdtemp(dir_buffer.data());
  const int threads = 16;
  for (const auto& store : memo::store_names()) {
    if (!memo::make_store(store, {})->holds_objects()) continue;
    CAPTURE(store);
    const int made_before = Counted::made.load();
    const int released_before = Counted::released.load();
    std::atomic<int> wrong{0}, thrown{0}, calls{0};

    auto quiet = memo_test::recorder();
    auto resource = memo::cache_resource(
        [](int k) {
          if (k % 17 == 16) throw std::runtime_error("refused");
          return std::make_shared<Counted>(k);
        },
        {.name = "stress.resource." + store, .ttl = 2ms, .max_entries = 8, .store = store,
         .show_spinner = false, .observer = quiet,
         .validate = [](const Counted& c) { return c.key % 13 != 12; },
         .on_release = release});
    auto per_session = memo::cache_resource(
        [](int k) { return std::make_shared<Counted>(k); },
        {.name = "stress.session." + store, .store = store, .show_spinner = false,
         .observer = quiet, .on_release = release, .scope = memo::Scope::session});
    auto data = memo::cache_data(
        [](int k) { return std::vector<int>(static_cast<std::size_t>(k % 5 + 1), k); },
        {.name = "stress.data." + store, .max_entries = 6, .store = store,
         .show_spinner = false, .observer = quiet, .persist = memo::Persist::disk,
         .persist_directory = dir});

    std::vector<std::unique_ptr<memo::Session>> sessions;
    for (int s = 0; s < 4; ++s) sessions.push_back(std::make_unique<memo::Session>());
    const auto deadline = std::chrono::steady_clock::now() + time_per_run();
    memo_test::run_threads(threads, [&](int t) {
      std::mt19937 rng(static_cast<unsigned>(t) * 2654435761u + 7u);
      int done = 0;
      while (std::chrono::steady_clock::now() < deadline || done < 200) {
        ++done;
        calls.fetch_add(1, std::memory_order_relaxed);
        const int key = static_cast<int>(rng() % 24);
        const unsigned action = rng() % 100;
        try {
          if (action < 40) {
            if (resource(key)->key != key) ++wrong;
          } else if (action < 60) {
            if (data(key) != std::vector<int>(static_cast<std::size_t>(key % 5 + 1), key)) ++wrong;
          } else if (action < 75) {
            memo::SessionScope in(*sessions[rng() % sessions.size()]);
            if (per_session(key % 4)->key != key % 4) ++wrong;
          } else if (action < 85) {
            resource.clear(key);
          } else if (action < 90) {
            data.clear(key);
          } else if (action < 94) {
            sessions[rng() % sessions.size()]->disconnect();
          } else if (action < 97) {
            resource.clear();
          } else if (action < 98) {
            memo::cache_resource_clear_all();
          } else {
            (void)memo::global_stats();
          }
        } catch (const std::runtime_error& e) {
          if (std::string(e.what()) == "refused") ++thrown;
          else ++wrong;
        }
      }
    });
    for (auto& session : sessions) session->disconnect();
    resource.clear();
    data.clear();
    const int made = Counted::made.load() - made_before;
    const int released = Counted::released.load() - released_before;
    std::printf("cache layer stress [%s]: %d calls on %d threads, %d objects made, %d thrown\n",
                store.c_str(), calls.load(), threads, made, thrown.load());
    CHECK(wrong == 0);
    CHECK(Counted::released_twice == 0);
    CHECK(released == made);
    CHECK(resource.stats().entries == 0);
    CHECK(per_session.stats().entries == 0);
    CHECK(data.stats().entries == 0);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}
