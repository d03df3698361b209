#include <catch2/catch.hpp>

#include <future>

#include "support/test_helpers.h"

using namespace std::chrono_literals;

TEST_CASE("single-flight: concurrent misses on one key run the function once, for every store") {
  for (const std::string& store : memo_test::in_process_store_names()) {
    INFO("store " << store);
    constexpr int kCallers = 16;
    std::atomic<int> runs{0};
    auto slow = memo::cache_resource(
        [&runs](int key) {
          runs.fetch_add(1);
          std::this_thread::sleep_for(30ms);
          return key * 10;
        },
        {.store = store, .show_spinner = false});
    memo_test::StartLine start(kCallers);
    std::vector<const int*> seen(kCallers);
    memo_test::run_threads(kCallers, [&](int i) {
      start.arrive_and_wait();
      seen[i] = slow(7).get();
    });
    CHECK(runs.load() == 1);
    CHECK(std::all_of(seen.begin(), seen.end(), [&](const int* p) { return p == seen[0]; }));
    CHECK(*seen[0] == 70);
    CHECK(slow.stats().misses == 1);
    CHECK(slow.stats().misses + slow.stats().coalesced + slow.stats().hits == kCallers);
  }
}

TEST_CASE("single-flight: a miss on one key does not block misses on other keys") {
  std::promise<void> release_a;
  std::shared_future<void> a_may_finish = release_a.get_future().share();
  auto f = memo::cache_data(
      [a_may_finish](int key) {
        if (key == 1) a_may_finish.wait();
        return key;
      },
      {.show_spinner = false});
  auto a = std::async(std::launch::async, [&] { return f(1); });
  std::this_thread::sleep_for(20ms);  // let key 1's miss start
  auto b = std::async(std::launch::async, [&] { return f(2); });
  // If key 2 waited on key 1 this would time out (key 1 waits for us).
  REQUIRE(b.wait_for(5s) == std::future_status::ready);
  CHECK(b.get() == 2);
  release_a.set_value();
  CHECK(a.get() == 1);
}

TEST_CASE("single-flight: when the function throws, every waiting caller gets the exception and nothing is cached") {
  constexpr int kCallers = 8;
  std::atomic<int> runs{0};
  auto failing = memo::cache_data(
      [&runs](int) -> int {
        runs.fetch_add(1);
        std::this_thread::sleep_for(50ms);
        throw std::runtime_error("backend unavailable");
      },
      {.show_spinner = false});
  memo_test::StartLine start(kCallers);
  std::atomic<int> errors{0};
  memo_test::run_threads(kCallers, [&](int) {
    start.arrive_and_wait();
    try {
      failing(1);
    } catch (const std::runtime_error& e) {
      if (std::string(e.what()) == "backend unavailable") errors.fetch_add(1);
    }
  });
  CHECK(errors.load() == kCallers);
  // Callers that arrived after the failed run finished retry by themselves; the
  // herd that was waiting shared one run.
  CHECK(runs.load() < kCallers);
  CHECK(failing.stats().entries == 0);
  const int before = runs.load();
  CHECK_THROWS(failing(1));  // the next call retries
  CHECK(runs.load() == before + 1);
}

TEST_CASE("single-flight: a function calling itself with the same arguments gets RecursiveCallError") {
  std::function<int(int)> self;
  auto recursive = memo::cache_data([&self](int n) { return self(n) + 1; },
                                    {.name = "recursive", .show_spinner = false});
  self = [&recursive](int n) { return recursive(n); };
  CHECK_THROWS_AS(recursive(3), memo::RecursiveCallError);
  CHECK_THROWS_WITH(recursive(3), Catch::Contains("'recursive' called itself"));
  CHECK(recursive.stats().entries == 0);
}

TEST_CASE("single-flight: recursion with different arguments is fine") {
  std::function<long(int)> fib_ref;
  auto fib = memo::cache_data([&fib_ref](int n) -> long { return n < 2 ? n : fib_ref(n - 1) + fib_ref(n - 2); },
                              {.show_spinner = false});
  fib_ref = [&fib](int n) { return fib(n); };
  CHECK(fib(50) == 12586269025L);
  CHECK(fib.stats().misses == 51);
}

TEST_CASE("single-flight: clear() during a run keeps that run's result out of the cache") {
  std::promise<void> go;
  std::shared_future<void> may_finish = go.get_future().share();
  std::atomic<int> runs{0};
  auto f = memo::cache_data(
      [&](int) {
        runs.fetch_add(1);
        may_finish.wait();
        return 1;
      },
      {.show_spinner = false});
  auto running = std::async(std::launch::async, [&] { return f(0); });
  while (runs.load() == 0) std::this_thread::yield();
  f.clear();
  go.set_value();
  CHECK(running.get() == 1);  // the caller still gets its value
  CHECK(f.stats().entries == 0);
  f(0);
  CHECK(runs.load() == 2);
}

TEST_CASE("single-flight: a call after clear(args) never joins a run that started before the clear") {
  std::promise<void> go;
  std::shared_future<void> first_may_finish = go.get_future().share();
  std::atomic<int> runs{0};
  auto f = memo::cache_resource(
      [&](int) {
        const int run = runs.fetch_add(1) + 1;
        if (run == 1) first_may_finish.wait();
        return run;
      },
      {.show_spinner = false});
  auto first = std::async(std::launch::async, [&] { return *f(0); });
  while (runs.load() == 0) std::this_thread::yield();
  f.clear(0);        // the running computation belongs to before the clear
  const int after = *f(0);  // so this call runs the function afresh
  go.set_value();
  CHECK(first.get() == 1);
  CHECK(after == 2);
  CHECK(*f(0) == 2);  // the fresh value is the one cached; the retired run stored nothing
  CHECK(f.stats().entries == 1);
}
