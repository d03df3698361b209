#include <catch2/catch.hpp>

#include "support/test_helpers.h"

using namespace std::chrono_literals;

TEST_CASE("messages: what a cached function emits is replayed to the calling session on every hit") {
  auto fetch = memo::cache_data(
      [](int n) {
        memo::emit("Fetched data from API!");
        return n;
      },
      {.show_spinner = false});
  memo::Session a("A"), b("B");
  {
    memo::SessionScope in(a);
    fetch(1);  // miss: the message is written live
    fetch(1);  // hit: replayed
  }
  {
    memo::SessionScope in(b);
    fetch(1);
  }
  CHECK(a.messages() == std::vector<std::string>{"Fetched data from API!", "Fetched data from API!"});
  CHECK(b.messages() == std::vector<std::string>{"Fetched data from API!"});
}

TEST_CASE("messages: replay works for cache_resource and nests through inner cached calls") {
  auto inner = memo::cache_data([] { memo::emit("inner"); return 1; }, {.show_spinner = false});
  auto outer = memo::cache_resource([&inner] {
    memo::emit("header");
    return inner() + 1;
  }, {.show_spinner = false});
  memo::Session first, second;
  {
    memo::SessionScope in(first);
    outer();
  }
  {
    memo::SessionScope in(second);
    outer();  // a hit on outer replays what outer and inner showed
  }
  CHECK(first.messages() == std::vector<std::string>{"header", "inner"});
  CHECK(second.messages() == std::vector<std::string>{"header", "inner"});
}

TEST_CASE("observer: show_spinner and show_time reach the miss observer - hits are silent") {
  auto observer = memo_test::recorder();
  auto quiet = memo::cache_data([](int x) { return x; },
                                {.name = "quiet", .show_spinner = false, .observer = observer});
  auto custom = memo::cache_data([](int x) { return x; },
                                 {.name = "load", .show_spinner = "Fetching data from API...",
                                  .show_time = true, .observer = observer});
  auto plain = memo::cache_data([](int x) { return x; }, {.name = "plain", .observer = observer});
  quiet(1);
  custom(1);
  custom(1);
  plain(1);
  const auto events = observer->events();
  REQUIRE(events.size() == 6);  // started + finished for each of the three misses
  CHECK_FALSE(events[0].show_spinner);
  CHECK(events[2].show_spinner);
  CHECK(events[2].text == "Fetching data from API...");
  CHECK(events[2].show_time);
  CHECK(events[3].kind == memo::RecordingObserver::Event::finished);
  CHECK(events[3].succeeded);
  CHECK(events[4].text == "Running `plain(...)`.");
  CHECK_FALSE(events[4].show_time);
}

TEST_CASE("observer: a failed miss is reported as not succeeded, with its elapsed time") {
  auto observer = memo_test::recorder();
  auto failing = memo::cache_data(
      [](int) -> int {
        std::this_thread::sleep_for(20ms);
        throw std::runtime_error("boom");
      },
      {.observer = observer});
  CHECK_THROWS(failing(1));
  const auto events = observer->events();
  REQUIRE(events.size() == 2);
  CHECK_FALSE(events[1].succeeded);
  CHECK(events[1].elapsed >= 20ms);
}

TEST_CASE("observer: the spinner line shows text and time with 0.1 s precision") {
  CHECK(memo::spinner_line("Loading", 1234ms, true, 0) == "⠋ Loading (1.2s)");
  CHECK(memo::spinner_line("Loading", 1234ms, false, 1) == "⠙ Loading");
}

TEST_CASE("stats: per-cache counters and global sums are readable at run time") {
  const memo::CacheStats before = memo::global_stats();
  auto f = memo::cache_data([](const std::string& s) { return s; },
                            {.max_entries = 1, .show_spinner = false});
  f("a");
  f("a");
  f("b");  // evicts a
  const memo::CacheStats s = f.stats();
  CHECK(s.hits == 1);
  CHECK(s.misses == 2);
  CHECK(s.evictions == 1);
  CHECK(s.entries == 1);
  CHECK(s.bytes == static_cast<std::int64_t>(memo::Codec<std::string>::encode("b").size));
  const memo::CacheStats after = memo::global_stats();
  CHECK(after.misses - before.misses == 2);
  CHECK(after.hits - before.hits == 1);
  bool listed = false;
  for (const auto& one : memo::all_cache_stats()) listed = listed || one.name == f.name();
  CHECK(listed);
}
