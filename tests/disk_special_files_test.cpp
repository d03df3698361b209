// Issue: a FIFO named like an entry hung the caller forever (open without O_NONBLOCK,
// no regular-file check), and symbolic links were followed, for an entry (the target
// was read) and for the per-function folder (writes landed in the target). Only
// regular files are read now, nothing is followed out of the cache directory, and no
// open can block.
#include <catch2/catch.hpp>

#include <sys/stat.h>


#include "support/disk_testing.h"

using namespace disk_test;
using namespace std::chrono_literals;

TEST_CASE("disk: a FIFO named like an entry is refused with a warning and never blocks", "[disk]") {
  TempDir dir;
  Warnings warnings;
  const memo::DiskCache cache = make_cache(dir.path, warnings);
  REQUIRE(cache.store(memo::Key{9, 9}, payload_bytes(10), {}));  // creates the folder
  REQUIRE(::mkfifo(cache.file_for(kKey).c_str(), 0600) == 0);
  // In a child with a time limit: before the fix, load() blocked in open() forever.
  const int status = in_child(
      [&] {
        Warnings seen;
        const memo::DiskCache reader = make_cache(dir.path, seen);
        const bool missed = !reader.load(kKey).has_value();
        const bool warned = seen.count() == 1 && seen.all().find("not a regular file") != std::string::npos;
        return missed && warned ? 0 : 1;
      },
      10s);
  CHECK(status == 0);  // 128 + SIGALRM: load() hung on the FIFO
  // A write replaces the FIFO with a regular file (rename replaces the name).
  const auto payload = payload_bytes(100);
  REQUIRE(cache.store(kKey, payload, {}));
  const auto entry = cache.load(kKey);
  REQUIRE(entry.has_value());
  CHECK(same_bytes(entry->payload, payload));
}

TEST_CASE("disk: an entry that is a symbolic link is not followed", "[disk]") {
  TempDir dir;
  Warnings warnings;
  const memo::DiskCache cache = make_cache(dir.path, warnings);
  REQUIRE(cache.store(memo::Key{9, 9}, payload_bytes(10), {}));
  // Elsewhere, a file that would decode as a valid entry for kKey.
  const fs::path outside = dir.path / "outside.bin";
  const std::vector<std::byte> planted = valid_file(payload_bytes(64, 99));
  write_file(outside, planted);
  fs::create_symlink(outside, cache.file_for(kKey));

  CHECK_FALSE(cache.load(kKey).has_value());  // before the fix: the target's value
  CHECK(warnings.count() == 1);
  CHECK_THAT(warnings.all(), Catch::Contains("symbolic link"));
  CHECK(fs::exists(outside));  // the target is left alone

  // A write replaces the link itself, never the target.
  const auto mine = payload_bytes(64, 1);
  REQUIRE(cache.store(kKey, mine, {}));
  CHECK_FALSE(fs::is_symlink(cache.file_for(kKey)));
  CHECK(read_file(outside) == planted);  // the target is unchanged
  const auto entry = cache.load(kKey);
  REQUIRE(entry.has_value());
  CHECK(same_bytes(entry->payload, mine));
}

TEST_CASE("disk: a per-function folder that is a symbolic link is refused - nothing lands in its target",
          "[disk]") {
  TempDir dir;
  const fs::path root = dir.path / "cache";
  const fs::path target = dir.path / "elsewhere";
  fs::create_directories(root);
  fs::create_directories(target);
  ::chmod(root.c_str(), 0700);
  ::chmod(target.c_str(), 0700);
  Warnings warnings;
  const memo::DiskCache cache = make_cache(root, warnings);
  fs::create_symlink(target, cache.folder());
  // A valid entry in the target, reachable through the link.
  write_file(target / cache.file_for(kKey).filename(), valid_file(payload_bytes(64, 5)));

  CHECK_FALSE(cache.load(kKey).has_value());  // before the fix: read through the link
  CHECK_FALSE(cache.store(memo::Key{5, 6}, payload_bytes(32), {}));
  CHECK_FALSE(fs::exists(target / cache.file_for(memo::Key{5, 6}).filename()));
  CHECK(temporaries(target).empty());
  CHECK(cache.count() == 0);
  cache.clear();
  CHECK(fs::exists(target / cache.file_for(kKey).filename()));  // clear() did not follow either
  CHECK(warnings.count() == 1);  // once per cache, not per call
  CHECK_THAT(warnings.all(), Catch::Contains("symbolic link") && Catch::Contains("carries on in memory"));
}

TEST_CASE("disk: a directory named like an entry is a miss, and a write to it fails with a warning",
          "[disk]") {
  TempDir dir;
  Warnings warnings;
  const memo::DiskCache cache = make_cache(dir.path, warnings);
  REQUIRE(cache.store(memo::Key{9, 9}, payload_bytes(10), {}));
  fs::create_directories(cache.file_for(kKey));
  CHECK_FALSE(cache.load(kKey).has_value());
  CHECK_THAT(warnings.all(), Catch::Contains("not a regular file"));
  CHECK_FALSE(cache.store(kKey, payload_bytes(10), {}));
  CHECK_THAT(warnings.all(), Catch::Contains("cannot persist"));
  CHECK(temporaries(dir.path).empty());  // the failed write left nothing behind

  // A caller committing under its own lock takes the warning's text instead.
  const std::size_t before = warnings.count();
  auto pending = cache.prepare(kKey, payload_bytes(10), {});
  REQUIRE(pending.has_value());
  std::string failure;
  CHECK_FALSE(cache.commit(std::move(*pending), &failure));
  CHECK_THAT(failure, Catch::Contains("cannot persist"));
  CHECK(warnings.count() == before);
  CHECK(temporaries(dir.path).empty());
}
