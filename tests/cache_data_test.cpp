#include <catch2/catch.hpp>

#include <thread>

#include "support/test_helpers.h"

using namespace std::chrono_literals;

namespace {

memo::Frame uber_frame() {
  memo::Frame frame;
  frame.add_column<double>("Lat", {40.7, 40.8, 40.9});
  frame.add_column<double>("Lon", {-73.9, -74.0, -74.1});
  frame.add_column<std::int64_t>("Base", {1, 2, 3});
  return frame;
}

}  // namespace

TEST_CASE("cache_data: a hit returns an equal value without running the function") {
  int runs = 0;
  auto square = memo::cache_data([&runs](int x) { ++runs; return x * x; }, {.show_spinner = false});
  CHECK(square(12) == 144);
  CHECK(square(12) == 144);
  CHECK(runs == 1);
  CHECK(square(13) == 169);
  CHECK(runs == 2);
  CHECK(square.stats().hits == 1);
  CHECK(square.stats().misses == 2);
}

TEST_CASE("cache_data: every caller gets its own copy - mutating it never reaches the cache") {
  auto create_list = memo::cache_data([] { return std::vector<int>{1, 2, 3}; },
                                      {.show_spinner = false});
  std::vector<int> first = create_list();  // the miss hands out the computed value
  first[0] = 100;
  std::vector<int> second = create_list();  // a hit decodes a fresh copy
  CHECK(second == std::vector<int>{1, 2, 3});
  second[0] = 200;
  CHECK(create_list() == std::vector<int>{1, 2, 3});
}

TEST_CASE("cache_data: the guide's list example gives 2, 2, 2 for users A, B, A") {
  auto create_list = memo::cache_data([] { return std::vector<int>{1, 2, 3}; },
                                      {.show_spinner = false});
  memo::Session a("A"), b("B");
  std::vector<int> seen;
  for (memo::Session* user : {&a, &b, &a}) {
    memo::SessionScope as(*user);
    auto l = create_list();
    l[0] = l[0] + 1;
    seen.push_back(l[0]);
  }
  CHECK(seen == std::vector<int>{2, 2, 2});
}

TEST_CASE("cache_data: a dropped column survives in the cache (the guide's 'Lat' example)") {
  auto load_data = memo::cache_data([](const std::string&) { return uber_frame(); },
                                    {.show_spinner = false});
  for (int run = 0; run < 3; ++run) {
    memo::Frame df = load_data("uber-rides-data1.csv");
    REQUIRE(df.has_column("Lat"));
    df.drop("Lat");  // in place, on this caller's copy only
    CHECK_FALSE(df.has_column("Lat"));
  }
}

TEST_CASE("cache_data: frames round-trip exactly through the stored bytes") {
  auto load = memo::cache_data([] { return uber_frame(); }, {.show_spinner = false});
  const memo::Frame computed = load();
  const memo::Frame decoded = load();
  CHECK(computed == uber_frame());
  CHECK(decoded == uber_frame());
  CHECK(load.stats().bytes > static_cast<std::int64_t>(uber_frame().size_bytes()));
}

TEST_CASE("cache_data: ttl expires entries lazily and recomputes") {
  int runs = 0;
  auto now_value = memo::cache_data([&runs] { return ++runs; },
                                    {.ttl = 30ms, .show_spinner = false});
  CHECK(now_value() == 1);
  CHECK(now_value() == 1);
  std::this_thread::sleep_for(60ms);
  CHECK(now_value.stats().expirations == 0);  // nothing happens until an access
  CHECK(now_value() == 2);
  CHECK(now_value.stats().expirations == 1);
  CHECK(now_value.stats().entries == 1);
}

TEST_CASE("cache_data: max_entries evicts the least recently used entry") {
  int runs = 0;
  auto f = memo::cache_data([&runs](int x) { ++runs; return x; },
                            {.max_entries = 2, .show_spinner = false});
  f(1);
  f(2);
  f(1);  // 1 is now more recent than 2
  f(3);  // evicts 2
  CHECK(f.stats().evictions == 1);
  CHECK(f.stats().entries == 2);
  const int before = runs;
  f(1);
  f(3);
  CHECK(runs == before);  // still cached
  f(2);
  CHECK(runs == before + 1);  // was evicted
}

TEST_CASE("cache_data: the same identity shares one cache - changing ttl or max_entries makes a new one") {
  int runs = 0;
  auto body = [&runs](int x) { ++runs; return x; };
  auto first = memo::cache_data(body, {.name = "shared_identity", .show_spinner = false});
  auto same = memo::cache_data(body, {.name = "shared_identity", .show_spinner = false});
  first(1);
  same(1);
  CHECK(runs == 1);
  auto other_ttl = memo::cache_data(body, {.name = "shared_identity", .ttl = 1h, .show_spinner = false});
  other_ttl(1);
  CHECK(runs == 2);
  auto other_size = memo::cache_data(body, {.name = "shared_identity", .max_entries = 5, .show_spinner = false});
  other_size(1);
  CHECK(runs == 3);
  auto other_version = memo::cache_data(body, {.name = "shared_identity", .version = 2, .show_spinner = false});
  other_version(1);
  CHECK(runs == 4);
}

TEST_CASE("cache_data: clear(args) drops one entry, clear() all, cache_data_clear_all every cache") {
  int runs = 0;
  auto f = memo::cache_data([&runs](int x) { ++runs; return x; }, {.show_spinner = false});
  auto g = memo::cache_data([&runs](int x) { ++runs; return -x; }, {.show_spinner = false});
  f(1);
  f(2);
  g(1);
  REQUIRE(runs == 3);
  f.clear(1);
  f(1);
  f(2);
  CHECK(runs == 4);
  f.clear();
  CHECK(f.stats().entries == 0);
  f(2);
  CHECK(runs == 5);
  memo::cache_data_clear_all();
  CHECK(f.stats().entries == 0);
  CHECK(g.stats().entries == 0);
  g(1);
  CHECK(runs == 6);
}

TEST_CASE("cache_data: a throwing function caches nothing and the next call retries") {
  int runs = 0;
  auto flaky = memo::cache_data(
      [&runs](int x) {
        if (++runs == 1) throw std::runtime_error("network down");
        return x;
      },
      {.show_spinner = false});
  CHECK_THROWS_WITH(flaky(5), "network down");
  CHECK(flaky.stats().entries == 0);
  CHECK(flaky(5) == 5);
  CHECK(flaky(5) == 5);
  CHECK(runs == 2);
}

TEST_CASE("cache_data: an unknown store name is a clear error listing the known stores") {
  CHECK_THROWS_WITH(memo::cache_data([](int x) { return x; }, {.store = "no_such_store"}),
                    Catch::Contains("unknown store 'no_such_store'") && Catch::Contains("mutex_map"));
}

TEST_CASE("cache_data: works over every store engine by name") {
  for (const std::string& store : memo_test::in_process_store_names()) {
    INFO("store " << store);
    int runs = 0;
    auto f = memo::cache_data([&runs](const std::string& s) { ++runs; return s + "!"; },
                              {.max_entries = 1000, .store = store, .show_spinner = false});
    for (int round = 0; round < 3; ++round) {
      for (int i = 0; i < 4; ++i) CHECK(f(std::to_string(i)) == std::to_string(i) + "!");
    }
    CHECK(runs == 4);
    CHECK(f.stats().hits == 8);
  }
}

TEST_CASE("codec: corrupt or truncated frame bytes are rejected with CorruptData, never read out of bounds") {
  const memo::Payload good = memo::Codec<memo::Frame>::encode(uber_frame());
  const auto bytes = good.view();
  CHECK(memo::Codec<memo::Frame>::decode(bytes) == uber_frame());
  for (std::size_t cut : {std::size_t{0}, std::size_t{7}, std::size_t{20}, bytes.size() / 2,
                          bytes.size() - 48}) {  // the last cut falls inside the last column
    INFO("truncated to " << cut);
    CHECK_THROWS_AS(memo::Codec<memo::Frame>::decode(bytes.first(cut)), memo::CorruptData);
  }
  std::vector<std::byte> bad(bytes.begin(), bytes.end());
  bad[0] = std::byte{'X'};
  CHECK_THROWS_AS(memo::Codec<memo::Frame>::decode(bad), memo::CorruptData);
  std::vector<std::byte> huge_rows(bytes.begin(), bytes.end());
  const std::uint64_t absurd = ~std::uint64_t{0} / 4;
  std::memcpy(huge_rows.data() + 8, &absurd, sizeof absurd);
  CHECK_THROWS_AS(memo::Codec<memo::Frame>::decode(huge_rows), memo::CorruptData);
  const std::string junk = "definitely not cereal";
  CHECK_THROWS_AS(memo::Codec<std::vector<std::string>>::decode(
                      std::as_bytes(std::span(junk.data(), junk.size()))),
                  memo::CorruptData);
}

TEST_CASE("frame: drop of a missing column throws KeyError naming it") {
  memo::Frame frame = uber_frame();
  frame.drop("Lat");
  CHECK_THROWS_AS(frame.drop("Lat"), memo::KeyError);
  CHECK_THROWS_WITH(frame.drop("Lat"), Catch::Contains("'Lat'"));
  CHECK_THROWS_WITH(frame.column("Lat"), Catch::Contains("'Lat'"));
  CHECK_THROWS_WITH(frame.column("Lon").values<float>(), Catch::Contains("float64"));
}

TEST_CASE("frame: copies are deep") {
  memo::Frame a = uber_frame();
  memo::Frame b = a;
  b.column("Lat").values<double>()[0] = 0;
  CHECK(a.column("Lat").values<double>()[0] == 40.7);
}
