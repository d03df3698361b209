#include <catch2/catch.hpp>

#include "support/test_helpers.h"

namespace {

// Each value serializes to 8 (length) + 100 bytes.
std::string hundred(int seed) { return std::string(100, static_cast<char>('a' + seed % 26)); }
constexpr std::int64_t kEntryBytes = 108;

struct ProcessBudget {
  explicit ProcessBudget(std::size_t bytes) { memo::set_process_byte_budget(bytes); }
  ~ProcessBudget() { memo::set_process_byte_budget(std::nullopt); }
};

}  // namespace

TEST_CASE("budget: max_bytes evicts the least recently used entries until the cache fits, on every store") {
  for (const std::string& store : memo_test::in_process_store_names()) {
    INFO("store " << store);
    int runs = 0;
    auto f = memo::cache_data([&runs](int seed) { ++runs; return hundred(seed); },
                              {.max_bytes = 3 * kEntryBytes + 10, .store = store,
                               .show_spinner = false});
    f(1);
    f(2);
    f(3);
    CHECK(f.stats().bytes == 3 * kEntryBytes);
    f(1);  // 1 is now the most recently used; 2 is the oldest
    f(4);  // over budget: 2 goes
    CHECK(f.stats().bytes == 3 * kEntryBytes);
    CHECK(f.stats().evictions == 1);
    const int before = runs;
    f(1);
    f(3);
    f(4);
    CHECK(runs == before);
    f(2);
    CHECK(runs == before + 1);
  }
}

TEST_CASE("budget: max_bytes applies to resources through weigh, with on_release") {
  std::vector<int> released;
  auto make = memo::cache_resource(
      [](int id) { return std::vector<char>(1000, static_cast<char>(id)); },
      {.max_bytes = 2500, .show_spinner = false,
       .on_release = [&released](std::vector<char>& v) { released.push_back(v[0]); },
       .weigh = [](const std::vector<char>& v) { return v.size(); }});
  memo_test::ClearOnExit make_cleared(make);
  make(1);
  make(2);
  make(3);
  CHECK(released == std::vector<int>{1});
  CHECK(make.stats().bytes == 2000);
}

TEST_CASE("budget: the process-wide budget evicts the least recently used entry across caches") {
  ProcessBudget budget(4 * kEntryBytes + 10);
  auto a = memo::cache_data([](int seed) { return hundred(seed); }, {.show_spinner = false});
  auto b = memo::cache_data([](int seed) { return hundred(seed + 1); }, {.show_spinner = false});
  a(1);
  a(2);
  b(1);
  b(2);
  a(1);  // a(2) is now the oldest use in the process
  b(3);  // over budget by one entry
  CHECK(a.stats().entries + b.stats().entries == 4);
  CHECK(a.stats().evictions == 1);
  CHECK(b.stats().evictions == 0);
  CHECK(memo::global_stats().bytes <= 4 * kEntryBytes + 10);
  const auto misses = a.stats().misses;
  a(1);
  CHECK(a.stats().misses == misses);  // the recently used one stayed
  a(2);
  CHECK(a.stats().misses == misses + 1);  // the oldest went
}
