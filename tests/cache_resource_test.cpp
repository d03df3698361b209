#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include "support/test_helpers.h"

using namespace std::chrono_literals;

namespace {

struct Connection {
  explicit Connection(std::string url) : url(std::move(url)) {}
  std::string url;
  bool healthy = true;
  int closed = 0;
};

}  // namespace

TEST_CASE("cache_resource: every caller gets the same object (a singleton per key)") {
  int runs = 0;
  auto connect = memo::cache_resource([&runs](const std::string& url) {
    ++runs;
    return Connection(url);
  }, {.show_spinner = false});
  auto s1 = connect("db-1");
  auto s2 = connect("db-1");
  auto s3 = connect("db-2");
  CHECK(s1.get() == s2.get());
  CHECK(s1.get() != s3.get());
  CHECK(runs == 2);
}

TEST_CASE("cache_resource: a function returning shared_ptr is cached as that object") {
  auto original = std::make_shared<Connection>("x");
  auto get = memo::cache_resource([original] { return original; }, {.show_spinner = false});
  CHECK(get().get() == original.get());
}

TEST_CASE("cache_resource: the guide's list example gives 2, 3, 4 for users A, B, A") {
  auto create_list = memo::cache_resource([] { return std::vector<int>{1, 2, 3}; },
                                          {.show_spinner = false});
  memo::Session a("A"), b("B");
  std::vector<int> seen;
  for (memo::Session* user : {&a, &b, &a}) {
    memo::SessionScope as(*user);
    auto l = create_list();
    (*l)[0] = (*l)[0] + 1;
    seen.push_back((*l)[0]);
  }
  CHECK(seen == std::vector<int>{2, 3, 4});
}

TEST_CASE("cache_resource: a column dropped in place is gone on the next run (KeyError)") {
  auto load_data = memo::cache_resource([] {
    memo::Frame frame;
    frame.add_column<double>("Lat", {1.0});
    frame.add_column<double>("Lon", {2.0});
    return frame;
  }, {.show_spinner = false});
  load_data()->drop("Lat");  // the first run works and mutates the cached frame
  CHECK_THROWS_AS(load_data()->drop("Lat"), memo::KeyError);
  CHECK_THROWS_WITH(load_data()->drop("Lat"), "['Lat'] not found in axis");
}

TEST_CASE("cache_resource: validate false drops the entry with on_release and recomputes") {
  int runs = 0, released = 0;
  auto connect = memo::cache_resource(
      [&runs](const std::string& url) { ++runs; return Connection(url); },
      {.show_spinner = false,
       .validate = [](const Connection& c) { return c.healthy; },
       .on_release = [&released](Connection& c) { ++released; ++c.closed; }});
  memo_test::ClearOnExit connect_cleared(connect);
  auto first = connect("db");
  CHECK(connect("db").get() == first.get());
  first->healthy = false;
  auto second = connect("db");
  CHECK(second.get() != first.get());
  CHECK(runs == 2);
  CHECK(released == 1);
  CHECK(first->closed == 1);
  CHECK(connect.stats().invalidations == 1);
}

TEST_CASE("cache_resource: a validate that throws is reported and treated as invalid") {
  auto observer = memo_test::recorder();
  int runs = 0;
  auto connect = memo::cache_resource(
      [&runs] { ++runs; return Connection("db"); },
      {.show_spinner = false, .observer = observer,
       .validate = [](const Connection&) -> bool { throw std::runtime_error("probe failed"); }});
  connect();
  connect();
  CHECK(runs == 2);
  REQUIRE(observer->count(memo::RecordingObserver::Event::warning) == 1);
  for (const auto& event : observer->events()) {
    if (event.kind == memo::RecordingObserver::Event::warning) {
      CHECK_THAT(event.text, Catch::Contains("probe failed"));
    }
  }
}

TEST_CASE("cache_resource: on_release runs exactly once per entry for eviction, expiry, clear") {
  std::map<int, int> releases;
  std::mutex mu;
  auto make = memo::cache_resource(
      [](int id) { return id; },
      {.ttl = 40ms, .max_entries = 2, .show_spinner = false,
       .on_release = [&](int& id) { std::lock_guard lock(mu); ++releases[id]; }});
  make(1);
  make(2);
  make(3);  // evicts 1
  CHECK(releases == std::map<int, int>{{1, 1}});
  std::this_thread::sleep_for(80ms);
  make(2);  // 2 expired: released, recomputed
  CHECK(releases == std::map<int, int>{{1, 1}, {2, 1}});
  make.clear(3);
  CHECK(releases == std::map<int, int>{{1, 1}, {2, 1}, {3, 1}});
  make.clear();  // the recomputed 2
  CHECK(releases == std::map<int, int>{{1, 1}, {2, 2}, {3, 1}});
  make.clear();
  CHECK(make.stats().releases == 4);
  CHECK(make.stats().evictions == 1);
  CHECK(make.stats().expirations == 1);
}

TEST_CASE("cache_resource: an on_release that throws is reported and the other releases go on") {
  auto observer = memo_test::recorder();
  std::vector<int> released;
  auto make = memo::cache_resource(
      [](int id) { return id; },
      {.show_spinner = false, .observer = observer, .on_release = [&](int& id) {
         released.push_back(id);
         if (id == 2) throw std::runtime_error("close failed for 2");
       }});
  make(1);
  make(2);
  make(3);
  make.clear();
  std::sort(released.begin(), released.end());
  CHECK(released == std::vector<int>{1, 2, 3});
  CHECK(make.stats().release_errors == 1);
  REQUIRE(observer->count(memo::RecordingObserver::Event::warning) == 1);
  CHECK_THAT(observer->events().back().text, Catch::Contains("close failed for 2"));
}

TEST_CASE("cache_resource: session-scoped resources are per session and released on disconnect") {
  int runs = 0, released = 0;
  auto session_db = memo::cache_resource(
      [&runs](const std::string& url) { ++runs; return Connection(url); },
      {.show_spinner = false, .on_release = [&released](Connection&) { ++released; },
       .scope = memo::Scope::session});
  int global_released = 0;
  auto global_model = memo::cache_resource(
      [] { return Connection("model"); },
      {.show_spinner = false, .on_release = [&global_released](Connection&) { ++global_released; }});
  memo_test::ClearOnExit global_model_cleared(global_model);

  memo::Session alice("alice"), bob("bob");
  std::shared_ptr<Connection> alice_db, bob_db, model;
  {
    memo::SessionScope in(alice);
    alice_db = session_db("db");
    CHECK(session_db("db").get() == alice_db.get());
    model = global_model();
  }
  {
    memo::SessionScope in(bob);
    bob_db = session_db("db");
    CHECK(global_model().get() == model.get());
  }
  CHECK(alice_db.get() != bob_db.get());
  CHECK(runs == 2);
  alice.disconnect();
  CHECK(released == 1);
  {
    memo::SessionScope in(bob);
    CHECK(session_db("db").get() == bob_db.get());
  }
  bob.disconnect();
  bob.disconnect();  // nothing left: no second release
  CHECK(released == 2);
  CHECK(global_released == 0);
  {
    memo::SessionScope in(alice);  // a reconnecting session starts afresh
    CHECK(session_db("db").get() != alice_db.get());
  }
  CHECK(runs == 3);
}

TEST_CASE("cache_resource: cache_resource_clear_all releases every resource cache, not cache_data") {
  int released = 0, data_runs = 0;
  auto r = memo::cache_resource([](int x) { return x; },
                                {.show_spinner = false, .on_release = [&](int&) { ++released; }});
  auto d = memo::cache_data([&data_runs](int x) { ++data_runs; return x; }, {.show_spinner = false});
  r(1);
  r(2);
  d(1);
  memo::cache_resource_clear_all();
  CHECK(released == 2);
  d(1);
  CHECK(data_runs == 1);
}

TEST_CASE("cache_resource: a cache outlives its handles - declaring it again finds its entries") {
  // The C++ form of a Streamlit script rerun: the cached function is declared inside the
  // code that runs per request. Streamlit's caches live for the process, and so do memo's.
  static std::atomic<int> loads{0}, released{0};
  auto declare = [] {
    return memo::cache_resource(
        [](const std::string& path) { ++loads; return Connection(path); },
        {.show_spinner = false, .on_release = [](Connection&) { ++released; }});
  };
  auto rerun = [&] { return declare()("weights.bin"); };
  const auto first = rerun();
  CHECK(rerun().get() == first.get());
  CHECK(rerun().get() == first.get());
  CHECK(loads == 1);
  CHECK(released == 0);  // nothing leaves a cache because a handle went away
  declare().clear();
  CHECK(released == 1);
  CHECK(rerun().get() != first.get());
  CHECK(loads == 2);
  declare().clear();
}
