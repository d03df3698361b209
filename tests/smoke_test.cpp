#include <catch2/catch.hpp>

#include "memo/memo.h"

TEST_CASE("smoke: cache_data returns copies, cache_resource the same object") {
  int runs = 0;
  auto f = memo::cache_data([&runs](int x) { ++runs; return std::vector<int>{x, x}; },
                            {.show_spinner = false});
  auto a = f(3);
  auto b = f(3);
  CHECK(a == b);
  CHECK(runs == 1);
  auto r = memo::cache_resource([](int x) { return std::vector<int>{x}; });
  CHECK(r(1).get() == r(1).get());
}
