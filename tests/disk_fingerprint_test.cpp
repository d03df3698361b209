// Issue: a persisted value whose type changed (same .name, other fields) passed every
// check and then failed to decode on every call. The file now carries the value
// fingerprint the cache layer derives from the result type, and a file with another
// fingerprint is refused before anything decodes it: a miss, one warning, removed.
#include <catch2/catch.hpp>

#include "support/disk_testing.h"

using namespace disk_test;

TEST_CASE("disk: a file written for another result type is a miss with one warning, and is removed",
          "[disk]") {
  TempDir dir;
  const auto payload = payload_bytes(4096);
  {
    Warnings warnings;
    REQUIRE(make_cache(dir.path, warnings, /*fingerprint=*/1).store(kKey, payload, {"hello"}));
    REQUIRE(warnings.count() == 0);
  }
  Warnings warnings;
  const memo::DiskCache reader = make_cache(dir.path, warnings, /*fingerprint=*/2);
  CHECK_FALSE(reader.load(kKey).has_value());
  CHECK(warnings.count() == 1);
  CHECK_THAT(warnings.all(), Catch::Contains("another result type"));
  CHECK_FALSE(fs::exists(reader.file_for(kKey)));  // removed: the next write replaces it
  CHECK(reader.count() == 0);

  // The same type reads its own files back, messages included.
  REQUIRE(reader.store(kKey, payload, {"hello"}));
  const auto entry = reader.load(kKey);
  REQUIRE(entry.has_value());
  CHECK(same_bytes(entry->payload, payload));
  CHECK(entry->messages == std::vector<std::string>{"hello"});
  CHECK(warnings.count() == 1);
}

TEST_CASE("disk: the fingerprint is covered by the checksum and checked by decode_file", "[disk]") {
  const auto file = valid_file(payload_bytes(100), /*fingerprint=*/7);
  CHECK_NOTHROW(memo::DiskCache::decode_file(file, kFunction, kKey, 7));
  CHECK_THROWS_WITH(memo::DiskCache::decode_file(file, kFunction, kKey, 8),
                    Catch::Contains("another result type"));
  auto flipped = file;
  flipped[56] ^= std::byte{1};  // the creation time: a header byte outside the keys
  CHECK_THROWS_WITH(memo::DiskCache::decode_file(flipped, kFunction, kKey, 7),
                    Catch::Contains("checksum"));
}

TEST_CASE("disk: a file of format version 1 is a miss with one warning, then replaced", "[disk]") {
  TempDir dir;
  Warnings warnings;
  const memo::DiskCache cache = make_cache(dir.path, warnings);
  const auto payload = payload_bytes(64);
  REQUIRE(cache.store(kKey, payload, {}));
  auto bytes = valid_file(payload);
  bytes[8] = std::byte{1};  // the version field
  write_file(cache.file_for(kKey), bytes);
  CHECK_FALSE(cache.load(kKey).has_value());
  CHECK(warnings.count() == 1);
  CHECK_THAT(warnings.all(), Catch::Contains("format version 1"));
  REQUIRE(cache.store(kKey, payload, {}));
  CHECK(cache.load(kKey).has_value());
  CHECK(warnings.count() == 1);
}
