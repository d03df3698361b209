// Issue: temporary files of a killed writer stayed forever (14 MB seen after a
// SIGKILL); only clear() removed them. A writer now holds an flock on its temporary
// until it commits or abandons it; later loads and writes remove temporaries nobody
// holds that are older than DiskCache::kTemporaryGrace, and never a live writer's.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/disk_testing.h"

using namespace disk_test;
using namespace std::chrono_literals;

namespace {

const auto kOld = std::chrono::duration_cast<std::chrono::seconds>(memo::DiskCache::kTemporaryGrace) + 50s;

// A child that writes a large entry to a temporary and is killed before renaming it;
// the temporary is then made `age` old.
void leave_killed_writer(const fs::path& root, std::chrono::seconds age = 0s) {
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(ready[0]);
    Warnings quiet;
    const memo::DiskCache writer = make_cache(root, quiet);
    auto pending = writer.prepare(kKey, payload_bytes(4 << 20), {});
    const char done = pending ? 'y' : 'n';
    (void)!::write(ready[1], &done, 1);
    ::pause();  // killed here, between the fsync and the rename
    ::_exit(0);
  }
  ::close(ready[1]);
  char done = 0;
  REQUIRE(::read(ready[0], &done, 1) == 1);
  ::close(ready[0]);
  REQUIRE(done == 'y');
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  if (age > 0s) {
    for (const auto& path : temporaries(root)) backdate(path, age);
  }
}

}  // namespace

TEST_CASE("disk: a killed writer's temporary is removed by a later load", "[disk]") {
  TempDir dir;
  leave_killed_writer(dir.path);
  const auto left = temporaries(dir.path);
  REQUIRE(left.size() == 1);

  {  // Within the grace an unlocked temporary may be a writer between create and lock.
    Warnings warnings;
    make_cache(dir.path, warnings).load(memo::Key{7, 7});
    CHECK(temporaries(dir.path).size() == 1);
  }
  backdate(left[0], kOld);
  Warnings warnings;
  const memo::DiskCache later = make_cache(dir.path, warnings);
  CHECK_FALSE(later.load(memo::Key{7, 7}).has_value());
  CHECK(temporaries(dir.path).empty());  // before the fix: 4 MiB left forever
  CHECK(warnings.count() == 0);
  CHECK(later.count() == 0);  // and no entry appeared
}

TEST_CASE("disk: a killed writer's temporary is removed by a later write", "[disk]") {
  TempDir dir;
  leave_killed_writer(dir.path, kOld);
  Warnings warnings;
  const memo::DiskCache later = make_cache(dir.path, warnings);
  REQUIRE(later.store(memo::Key{7, 7}, payload_bytes(16), {}));
  CHECK(temporaries(dir.path).empty());
  CHECK(later.count() == 1);
}

TEST_CASE("disk: a live writer's temporary is never removed, however old", "[disk]") {
  TempDir dir;
  Warnings warnings;
  const memo::DiskCache writer = make_cache(dir.path, warnings);
  const auto payload = payload_bytes(1 << 16);
  auto pending = writer.prepare(kKey, payload, {"note"});
  REQUIRE(pending.has_value());
  const auto left = temporaries(dir.path);
  REQUIRE(left.size() == 1);
  backdate(left[0], 48h);  // older than kTemporaryMaxAge too: the lock decides

  // Another process's sweep (a fresh DiskCache in a child) must leave it.
  const int status = in_child(
      [&] {
        Warnings quiet;
        const memo::DiskCache other = make_cache(dir.path, quiet);
        other.load(memo::Key{7, 7});
        other.store(memo::Key{8, 8}, payload_bytes(8), {});
        other.clear();
        return 0;
      },
      20s);
  REQUIRE(status == 0);
  // And so must a sweep in this process (flock locks belong to the open file).
  make_cache(dir.path, warnings).load(memo::Key{7, 7});
  CHECK(temporaries(dir.path).size() == 1);

  REQUIRE(writer.commit(std::move(*pending)));
  CHECK(temporaries(dir.path).empty());
  const auto entry = writer.load(kKey);
  REQUIRE(entry.has_value());
  CHECK(same_bytes(entry->payload, payload));
  CHECK(entry->messages == std::vector<std::string>{"note"});
  CHECK(warnings.count() == 0);
}

TEST_CASE("disk: abandon() and a dropped PendingWrite remove their temporary", "[disk]") {
  TempDir dir;
  Warnings warnings;
  const memo::DiskCache cache = make_cache(dir.path, warnings);
  auto pending = cache.prepare(kKey, payload_bytes(128), {});
  REQUIRE(pending.has_value());
  CHECK(temporaries(dir.path).size() == 1);
  cache.abandon(std::move(*pending));
  CHECK(temporaries(dir.path).empty());
  { auto dropped = cache.prepare(kKey, payload_bytes(128), {}); }
  CHECK(temporaries(dir.path).empty());
  CHECK(cache.count() == 0);
  CHECK_FALSE(cache.load(kKey).has_value());
}

TEST_CASE("disk: clear() removes a killed writer's temporaries too", "[disk]") {
  TempDir dir;
  leave_killed_writer(dir.path, kOld);
  Warnings warnings;
  const memo::DiskCache cache = make_cache(dir.path, warnings);
  cache.clear();
  CHECK(temporaries(dir.path).empty());
}
