#include <catch2/catch.hpp>

#include <list>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "memo/memo.h"

namespace people {
struct Person {
  std::string name;
  int age = 0;
};
// The ADL hook: only the name identifies a person.
void memo_hash(memo::Hasher& h, const Person& p) { h.update(p.name); }

struct Badge {
  int id = 0;
  std::string holder;
};
}  // namespace people

enum class Colour { red, green };

TEST_CASE("hash: keys are stable across processes and runs (golden XXH3-128 values)") {
  // These digests must never change: a disk cache written by one process is read by
  // another with the keys it computes itself. Checked against the reference tool:
  // `xxhsum -H2` of the encoded bytes (u64 length 3 + "abc"; int32 42 little-endian).
  CHECK(memo::hash_of(std::string("abc")).hex() == memo::hash_of(std::string_view("abc")).hex());
  CHECK(memo::hash_of(std::string("abc")).hex() == "45bcdc88efffd44520b986a5e7fe1438");
  CHECK(memo::hash_of(42).hex() == "9a455182d724f0341ad293a711858e8f");
}

TEST_CASE("hash: strings are length-prefixed so ('ab','c') and ('a','bc') differ") {
  CHECK(memo::hash_of(std::make_pair(std::string("ab"), std::string("c"))) !=
        memo::hash_of(std::make_pair(std::string("a"), std::string("bc"))));
}

TEST_CASE("hash: unordered containers hash independently of iteration order") {
  std::unordered_set<int> small_table(1), big_table(1024);
  for (int i = 0; i < 100; ++i) small_table.insert(i * 7919);
  for (int i = 99; i >= 0; --i) big_table.insert(i * 7919);
  REQUIRE(std::vector<int>(small_table.begin(), small_table.end()) !=
          std::vector<int>(big_table.begin(), big_table.end()));
  CHECK(memo::hash_of(small_table) == memo::hash_of(big_table));

  std::unordered_map<std::string, int> a{{"x", 1}, {"y", 2}}, b{{"y", 2}, {"x", 1}};
  CHECK(memo::hash_of(a) == memo::hash_of(b));
  std::unordered_map<std::string, int> c{{"x", 2}, {"y", 1}};
  CHECK(memo::hash_of(a) != memo::hash_of(c));
}

TEST_CASE("hash: ordered containers, sequences, tuples, optionals, variants and enums") {
  CHECK(memo::hash_of(std::vector<int>{1, 2}) != memo::hash_of(std::vector<int>{2, 1}));
  CHECK(memo::hash_of(std::list<int>{1, 2}) == memo::hash_of(std::vector<int>{1, 2}));
  CHECK(memo::hash_of(std::map<int, int>{{1, 2}}) != memo::hash_of(std::map<int, int>{{2, 1}}));
  CHECK(memo::hash_of(std::set<std::string>{"a"}) != memo::hash_of(std::set<std::string>{"b"}));
  CHECK(memo::hash_of(std::optional<int>{}) != memo::hash_of(std::optional<int>{0}));
  CHECK(memo::hash_of(std::variant<int, float>{1}) != memo::hash_of(std::variant<int, float>{1.0f}));
  CHECK(memo::hash_of(Colour::red) != memo::hash_of(Colour::green));
  CHECK(memo::hash_of(std::tuple<int, double, bool>{1, 2.0, true}) ==
        memo::hash_of(std::tuple<int, double, bool>{1, 2.0, true}));
  CHECK(memo::hash_of(std::vector<std::string>(200, "long enough to spill the inline buffer")) !=
        memo::hash_of(std::vector<std::string>(201, "long enough to spill the inline buffer")));
}

TEST_CASE("hash: -0.0 and 0.0 hash alike - other floats differ") {
  CHECK(memo::hash_of(-0.0) == memo::hash_of(0.0));
  CHECK(memo::hash_of(1.0) != memo::hash_of(1.0000001));
}

TEST_CASE("hash: a user type hashes through its ADL memo_hash hook") {
  CHECK(memo::hash_of(people::Person{"Ada", 36}) == memo::hash_of(people::Person{"Ada", 99}));
  CHECK(memo::hash_of(people::Person{"Ada", 36}) != memo::hash_of(people::Person{"Bob", 36}));
  CHECK(memo::hash_of(std::vector<people::Person>{{"Ada", 1}}) !=
        memo::hash_of(std::vector<people::Person>{{"Bob", 1}}));
}

TEST_CASE("hash: hash_funcs give a cache its own hash for a type (the guide's hash_funcs)") {
  int runs = 0;
  auto badge_owner = memo::cache_data(
      [&runs](const people::Badge& badge) { ++runs; return badge.holder; },
      {.show_spinner = false},
      memo::hash_funcs{[](const people::Badge& badge) { return badge.id; }});
  CHECK(badge_owner(people::Badge{7, "Ada"}) == "Ada");
  // Same id: the table says it is the same argument, so the cached value comes back.
  CHECK(badge_owner(people::Badge{7, "Bob"}) == "Ada");
  CHECK(runs == 1);
  CHECK(badge_owner(people::Badge{8, "Bob"}) == "Bob");
  CHECK(runs == 2);
}

TEST_CASE("hash: memo::unhashed arguments are left out of the key (the guide's _param)") {
  struct Connection {
    int id;
    int fetch(int n) const { return id * 1000 + n; }
  };
  Connection first{1}, second{2};
  int runs = 0;
  auto fetch = memo::cache_data(
      [&runs](memo::unhashed<const Connection*> db, int n) { ++runs; return db->fetch(n); },
      {.show_spinner = false});
  CHECK(fetch(&first, 10) == 1010);
  CHECK(fetch(&second, 10) == 1010);  // a different connection, same key: cached value
  CHECK(runs == 1);
  CHECK(fetch(&second, 11) == 2011);
  CHECK(runs == 2);
}
