// A linearizability checker for Store histories (header-only).
//
// Algorithm: Wing & Gong's search (J. Parallel Distrib. Comput. 1993) with Lowe's
// memoisation of visited (linearized set, model state) pairs ("Testing for
// linearizability", 2017). A history is linearizable iff some total order of its
// operations (1) respects real time -- an operation that responded before another
// was invoked comes first -- and (2) replays correctly on the sequential model.
// Linearizability is local (Herlihy & Wing), so a history of single-key operations is
// linearizable iff each key's sub-history is: the checker partitions by key, which
// keeps each search small (a sub-history holds at most 64 operations).
//
// Sequential model of one key (store.h, unbounded, nothing ever expires): the state
// is the id of the stored entry, 0 when absent.
//   find            -> returns the state
//   insert(id)      -> absent: state = id, returns id; present: returns the state
//   erase()         -> present: state = 0, returns true; absent: returns false
//   erase(expected) -> state == expected: state = 0, returns true; else false
// clear() touches every key and is documented as not atomic, so it is left out of
// checked histories. Eviction and expiry make the model nondeterministic; histories
// are recorded on unbounded stores with entries that never expire.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace memo_test::lin {

enum class Kind { find, insert, erase, erase_expected };

struct Op {
  int thread = 0;
  Kind kind = Kind::find;
  int key = 0;
  std::uint64_t arg = 0;     // insert: the new entry's id; erase_expected: the expected id
  std::uint64_t result = 0;  // find/insert: an entry id (0 = null); erase: 1 or 0
  std::uint64_t invoked = 0;    // timestamps from one global counter:
  std::uint64_t responded = 0;  // invoked < responded, strictly increasing per thread
};

// Applies `op` to `state`; false if the op's recorded result is impossible there.
inline bool step(std::uint64_t& state, const Op& op) {
  switch (op.kind) {
    case Kind::find:
      return op.result == state;
    case Kind::insert:
      if (state == 0) {
        if (op.result != op.arg) return false;
        state = op.arg;
        return true;
      }
      return op.result == state;
    case Kind::erase:
      if (state != 0) {
        if (op.result != 1) return false;
        state = 0;
        return true;
      }
      return op.result == 0;
    case Kind::erase_expected:
      if (state != 0 && state == op.arg) {
        if (op.result != 1) return false;
        state = 0;
        return true;
      }
      return op.result == 0;
  }
  return false;
}

// Whether the operations of one key, all completed, are linearizable from `initial`.
inline bool linearizable_one_key(std::vector<Op> ops, std::uint64_t initial = 0) {
  if (ops.size() > 64) return false;  // out of the checker's range: never a silent pass
  std::sort(ops.begin(), ops.end(), [](const Op& a, const Op& b) { return a.invoked < b.invoked; });
  const std::size_t n = ops.size();
  const std::uint64_t all = n == 64 ? ~0ULL : (1ULL << n) - 1;
  std::set<std::pair<std::uint64_t, std::uint64_t>> dead_ends;  // (done mask, state)

  // Depth-first: extend the linearized prefix `done` by one op that may come next.
  auto search = [&](auto&& self, std::uint64_t done, std::uint64_t state) -> bool {
    if (done == all) return true;
    if (dead_ends.count({done, state})) return false;
    // An op may go next only if it was invoked before every pending op responded.
    std::uint64_t earliest_response = ~0ULL;
    for (std::size_t i = 0; i < n; ++i) {
      if (!(done >> i & 1)) earliest_response = std::min(earliest_response, ops[i].responded);
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (done >> i & 1) continue;
      if (ops[i].invoked > earliest_response) break;  // sorted by invocation
      std::uint64_t next_state = state;
      if (step(next_state, ops[i]) && self(self, done | (1ULL << i), next_state)) return true;
    }
    dead_ends.insert({done, state});
    return false;
  };
  return search(search, 0, initial);
}

struct Verdict {
  bool ok = true;
  std::vector<int> bad_keys;
};

// Partitions `history` by key and checks each part. Every key starts absent.
inline Verdict check(const std::vector<Op>& history) {
  std::map<int, std::vector<Op>> by_key;
  for (const auto& op : history) by_key[op.key].push_back(op);
  Verdict verdict;
  for (auto& [key, ops] : by_key) {
    if (!linearizable_one_key(std::move(ops))) {
      verdict.ok = false;
      verdict.bad_keys.push_back(key);
    }
  }
  return verdict;
}

inline std::string describe(const std::vector<Op>& history, int key) {
  static const char* const names[] = {"find", "insert", "erase", "erase_expected"};
  std::string out;
  for (const auto& op : history) {
    if (op.key != key) continue;
    out += "  t" + std::to_string(op.thread) + " [" + std::to_string(op.invoked) + ", " +
           std::to_string(op.responded) + "] " + names[static_cast<int>(op.kind)] + "(" +
           std::to_string(op.arg) + ") -> " + std::to_string(op.result) + "\n";
  }
  return out;
}

}  // namespace memo_test::lin
