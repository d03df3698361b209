// cache_data on the redis store, end to end through the cache layer (the store itself is
// tested in redis_store_test.cpp): what one process caches or clears, every other
// process sees on its next call; a server that is down is a warning and a correct value;
// cache_resource refuses the store.
//
// "Another process" is a child forked before it makes the cache: a fork of a process
// that already holds the cache would share its connection.
#if MEMO_HAVE_HIREDIS

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <string>

#include "memo/memo.h"
#include "support/disk_testing.h"
#include "support/redis_testing.h"

namespace {

using namespace std::chrono_literals;

// The function's value names the process that computed it.
std::string computed_by_this_process(int x) { return std::to_string(x) + "@" + std::to_string(::getpid()); }

// What f(7) returns in a new process, after clear() there when `clear_first`.
std::string call_in_new_process(const std::string& url, const std::string& name, bool clear_first) {
  disk_test::TempDir dir;
  const std::string out = (dir.path / "value").string();
  const int status = disk_test::in_child(
      [&] {
        auto f = memo::cache_data(computed_by_this_process,
                                  {.name = name, .store = "redis", .store_url = url, .show_spinner = false});
        if (clear_first) f.clear();
        std::ofstream(out) << f(7);
        return 0;
      },
      60s);
  REQUIRE(status == 0);
  std::ifstream in(out);
  std::string value;
  std::getline(in, value);
  return value;
}

std::string unique_name(const char* what) {
  const memo::Key key = memo_test::redis::fresh_namespace();
  return std::string("redis_cache_test.") + what + "." + key.hex();
}

}  // namespace

TEST_CASE("redis cache: a value cached by one process is read by the next - a clear() in one "
          "is seen by the next call in every other", "[redis]") {
  const std::string url = memo_test::redis::standalone_url();
  MEMO_NEED_REDIS(url);
  const std::string name = unique_name("shared");

  const std::string first = call_in_new_process(url, name, false);
  CHECK(first.rfind("7@", 0) == 0);
  // A second process finds it: the function does not run there.
  CHECK(call_in_new_process(url, name, false) == first);
  // A third clears, then calls: it computes a value of its own ...
  const std::string after_clear = call_in_new_process(url, name, true);
  CHECK(after_clear != first);
  // ... which is what the next process reads.
  CHECK(call_in_new_process(url, name, false) == after_clear);
}

TEST_CASE("redis cache: a server that is down is a warning, the function runs and the value "
          "is right", "[redis]") {
  auto observer = std::make_shared<memo::RecordingObserver>();
  const std::string url = "redis://127.0.0.1:" + std::to_string(memo_test::redis::free_port()) + "/0";
  int runs = 0;
  auto f = memo::cache_data(
      [&runs](int x) {
        ++runs;
        return x * 3;
      },
      {.name = unique_name("down"), .store = "redis", .store_url = url, .show_spinner = false,
       .observer = observer});
  CHECK(f(5) == 15);
  CHECK(f(5) == 15);
  CHECK(runs >= 1);
  CHECK(observer->count(memo::RecordingObserver::Event::warning) >= 1);
  f.clear();
}

TEST_CASE("redis cache: cache_resource refuses the redis store with a clear error", "[redis]") {
  CHECK_THROWS_WITH(memo::cache_resource([](int x) { return x; }, {.store = "redis"}),
                    Catch::Contains("cannot hold resources") && Catch::Contains("cache_data"));
}

#endif  // MEMO_HAVE_HIREDIS
