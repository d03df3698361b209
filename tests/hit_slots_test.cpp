// The hit slots' admission rule (core/src/cache/hit_slots.h), tested on the part itself:
// through a cache it shows only as throughput.
#include <catch2/catch.hpp>

#include <memory>

#include "cache/hit_slots.h"

using memo::detail::HitSlots;
using memo::detail::ValueEntry;

namespace {

std::shared_ptr<const ValueEntry> stored_entry() {
  return std::make_shared<const ValueEntry>(memo::Entry::never, 0, std::vector<std::string>{});
}

// Two keys of one cache that meet at the same slot.
struct Colliding {
  memo::Key first, second;
};

Colliding colliding_keys(const void* cache) {
  const memo::Key first{1, 1};
  for (std::uint64_t lo = 2; lo < 100000; ++lo) {
    const memo::Key other{lo, 1};
    // A fresh slot admits at once; a key whose slot the first one holds is refused.
    HitSlots probe;
    REQUIRE(probe.fill(cache, first, stored_entry()) != nullptr);
    if (probe.fill(cache, other, stored_entry()) == nullptr) return {first, other};
  }
  FAIL("no two keys met at one slot");
  return {};
}

}  // namespace

TEST_CASE("hit slots: a key takes an occupied slot only when it asks twice in a row") {
  const int cache_tag = 0;
  const void* cache = &cache_tag;
  const auto [owner, newcomer] = colliding_keys(cache);
  HitSlots slots;
  auto owner_entry = stored_entry();
  auto newcomer_entry = stored_entry();
  REQUIRE(slots.fill(cache, owner, owner_entry) != nullptr);

  // Asks, the owner is hit, asks again: not twice in a row, so the owner keeps its slot.
  CHECK(slots.fill(cache, newcomer, newcomer_entry) == nullptr);
  CHECK(slots.find(cache, owner) != nullptr);
  CHECK(slots.fill(cache, newcomer, newcomer_entry) == nullptr);
  CHECK(slots.find(cache, owner) != nullptr);

  // Twice in a row: the newcomer takes the slot.
  CHECK(slots.fill(cache, newcomer, newcomer_entry) == nullptr);
  CHECK(slots.fill(cache, newcomer, newcomer_entry) != nullptr);
  CHECK(slots.find(cache, newcomer) != nullptr);
  CHECK(slots.find(cache, owner) == nullptr);
}
