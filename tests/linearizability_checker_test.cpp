// The linearizability checker (tests/support/linearizability.h) on hand-made
// histories: it must accept what is linearizable and reject what is not.
#include <catch2/catch.hpp>

#include "support/linearizability.h"

using memo_test::lin::check;
using memo_test::lin::Kind;
using memo_test::lin::Op;

namespace {

Op op(int thread, Kind kind, int key, std::uint64_t arg, std::uint64_t result,
      std::uint64_t invoked, std::uint64_t responded) {
  return Op{thread, kind, key, arg, result, invoked, responded};
}

}  // namespace

TEST_CASE("linearizability checker: accepts sequential histories that follow the model") {
  CHECK(check({
                  op(0, Kind::find, 0, 0, 0, 1, 2),
                  op(0, Kind::insert, 0, 7, 7, 3, 4),
                  op(1, Kind::insert, 0, 8, 7, 5, 6),
                  op(1, Kind::erase_expected, 0, 8, 0, 7, 8),
                  op(0, Kind::erase_expected, 0, 7, 1, 9, 10),
                  op(0, Kind::erase, 0, 0, 0, 11, 12),
                  op(1, Kind::insert, 0, 8, 8, 13, 14),
                  op(1, Kind::erase, 0, 0, 1, 15, 16),
              })
            .ok);
}

TEST_CASE("linearizability checker: accepts overlapping operations in either order") {
  // The find overlaps the insert, so it may see either the old or the new state.
  CHECK(check({op(0, Kind::insert, 0, 1, 1, 1, 10), op(1, Kind::find, 0, 0, 1, 2, 3)}).ok);
  CHECK(check({op(0, Kind::insert, 0, 1, 1, 1, 10), op(1, Kind::find, 0, 0, 0, 2, 3)}).ok);
  // Two overlapping inserts: one wins, both report it.
  CHECK(check({op(0, Kind::insert, 0, 1, 2, 1, 4), op(1, Kind::insert, 0, 2, 2, 2, 3)}).ok);
  // Needs reordering against invocation order: t1's insert must come before t0's find.
  CHECK(check({op(0, Kind::find, 0, 0, 5, 1, 6), op(1, Kind::insert, 0, 5, 5, 2, 3)}).ok);
}

TEST_CASE("linearizability checker: rejects two winners, stale reads and lost erases") {
  // Both overlapping inserts claim to have gone in.
  CHECK_FALSE(check({op(0, Kind::insert, 0, 1, 1, 1, 4), op(1, Kind::insert, 0, 2, 2, 2, 3)}).ok);
  // A find after a completed erase still returns the erased entry.
  CHECK_FALSE(check({op(0, Kind::insert, 0, 1, 1, 1, 2), op(0, Kind::erase, 0, 0, 1, 3, 4),
                     op(1, Kind::find, 0, 0, 1, 5, 6)})
                  .ok);
  // A find after a completed insert misses it (real-time order).
  CHECK_FALSE(check({op(0, Kind::insert, 0, 1, 1, 1, 2), op(1, Kind::find, 0, 0, 0, 3, 4)}).ok);
  // Two erases of one entry both succeed.
  CHECK_FALSE(check({op(0, Kind::insert, 0, 1, 1, 1, 2), op(0, Kind::erase, 0, 0, 1, 3, 6),
                     op(1, Kind::erase_expected, 0, 1, 1, 4, 5)})
                  .ok);
  // erase(expected) removing a different entry.
  CHECK_FALSE(check({op(0, Kind::insert, 0, 1, 1, 1, 2), op(1, Kind::erase_expected, 0, 9, 1, 3, 4)}).ok);
}

TEST_CASE("linearizability checker: partitions by key and names the bad key") {
  const auto verdict = check({op(0, Kind::insert, 0, 1, 1, 1, 2), op(1, Kind::find, 1, 0, 1, 3, 4),
                              op(1, Kind::find, 0, 0, 1, 5, 6)});
  CHECK_FALSE(verdict.ok);
  CHECK(verdict.bad_keys == std::vector<int>{1});
}
