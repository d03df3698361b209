// The redis store across real processes (tests/redis/worker.cpp): P processes missing
// one key compute it once; a holder killed with SIGKILL is replaced by exactly one
// waiter once its lease lapses; a holder whose function throws hands over at once.
#if MEMO_HAVE_HIREDIS

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "support/redis_testing.h"

using namespace std::chrono_literals;
using memo_test::redis::Admin;
using memo_test::redis::Worker;

namespace {

std::string counter_key(const memo::Key& ns) { return "memo-test:computations:" + ns.hex(); }

// Computations are counted on the standalone server, whichever server the store uses.
std::string counter_url() { return memo_test::redis::standalone_url(); }

// "<outcome> <value> <ms>" -> {outcome, value}
std::pair<std::string, std::string> outcome_of(const std::string& line) {
  const auto first = line.find(' ');
  if (first == std::string::npos) return {line, ""};
  const auto second = line.find(' ', first + 1);
  return {line.substr(0, first), line.substr(first + 1, second - first - 1)};
}

}  // namespace

TEST_CASE("redis processes: P processes missing one key run the function once", "[redis]") {
  const bool cluster = GENERATE(false, true);
  const int processes = GENERATE(2, 4, 8);
  CAPTURE(cluster, processes);
  const std::string url = cluster ? memo_test::redis::cluster_url() : memo_test::redis::standalone_url();
  MEMO_NEED_REDIS(url);
  MEMO_NEED_REDIS(counter_url());
  const memo::Key ns = memo_test::redis::fresh_namespace();
  const std::string counter = counter_key(ns);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int p = 0; p < processes; ++p) {
    // Computing takes 1.5 s, so most processes arrive while it runs and must wait.
    workers.push_back(std::make_unique<Worker>(
        std::vector<std::string>{"herd", url, ns.hex(), "1", "1500", "2000", counter_url(), counter}));
  }
  std::map<std::string, int> outcomes;
  std::set<std::string> values;
  for (auto& worker : workers) {
    const auto [outcome, value] = outcome_of(worker->line(60s));
    ++outcomes[outcome];
    values.insert(value);
    CHECK(worker->wait(10s) == 0);
  }
  Admin admin(counter_url());
  CHECK(admin.run({"GET", counter}) == "1");  // computations, counted on the server
  CHECK(outcomes["computed"] == 1);
  CHECK(outcomes["published"] == processes - 1);
  CHECK(values.size() == 1);
  admin.run({"DEL", counter});
}

TEST_CASE("redis processes: a holder killed with SIGKILL is replaced by one waiter after its lease lapses",
          "[redis]") {
  const std::string url = memo_test::redis::standalone_url();
  MEMO_NEED_REDIS(url);
  const memo::Key ns = memo_test::redis::fresh_namespace();
  const std::string counter = counter_key(ns);
  Worker holder({"hold", url, ns.hex(), "7", "800"});
  REQUIRE(holder.line(60s) == "holding");
  std::vector<std::unique_ptr<Worker>> waiters;
  for (int p = 0; p < 3; ++p) {
    waiters.push_back(std::make_unique<Worker>(
        std::vector<std::string>{"herd", url, ns.hex(), "7", "300", "800", counter_url(), counter}));
  }
  // The holder keeps renewing its lease: nobody takes over while it lives.
  std::this_thread::sleep_for(2500ms);
  Admin admin(url);
  CHECK(admin.run({"GET", counter}) == "(nil)");
  const auto killed_at = std::chrono::steady_clock::now();
  holder.kill();  // a crash in the middle of the computation
  std::map<std::string, int> outcomes;
  std::set<std::string> values;
  for (auto& waiter : waiters) {
    const auto [outcome, value] = outcome_of(waiter->line(60s));
    ++outcomes[outcome];
    values.insert(value);
    CHECK(waiter->wait(10s) == 0);
  }
  const auto took = std::chrono::steady_clock::now() - killed_at;
  CHECK(admin.run({"GET", counter}) == "1");
  CHECK(outcomes["computed"] == 1);
  CHECK(outcomes["published"] == 2);
  CHECK(values.size() == 1);
  CHECK(took < 30s);  // the 800 ms lease, not a hang (generous for a loaded machine)
  admin.run({"DEL", counter});
}

TEST_CASE("redis processes: a holder whose function throws hands the key to a waiter at once", "[redis]") {
  const std::string url = memo_test::redis::standalone_url();
  MEMO_NEED_REDIS(url);
  const memo::Key ns = memo_test::redis::fresh_namespace();
  const std::string counter = counter_key(ns);
  // A 60 s lease: a takeover by lapse would fail the time limit below.
  Worker thrower({"throw", url, ns.hex(), "9", "1000", "60000"});
  REQUIRE(thrower.line(60s) == "holding");
  Worker waiter({"herd", url, ns.hex(), "9", "10", "60000", counter_url(), counter});
  CHECK(thrower.line(60s) == "released");
  const auto released_at = std::chrono::steady_clock::now();
  const auto [outcome, value] = outcome_of(waiter.line(60s));
  CHECK(outcome == "computed");
  CHECK(std::chrono::steady_clock::now() - released_at < 20s);
  CHECK(thrower.wait(10s) == 0);
  CHECK(waiter.wait(10s) == 0);
  Admin(url).run({"DEL", counter});
}

#endif  // MEMO_HAVE_HIREDIS
