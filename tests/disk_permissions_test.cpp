// Issue: anyone on the machine could read or plant entries. Folders were 0755 and
// files 0644, the default without HOME, XDG_CACHE_HOME and MEMO_CACHE_DIR was a fixed
// shared /tmp/memo-cache whose owner and mode were never checked, and the checksum
// authenticates nothing. Now: private by default (0700 folders, 0600 files); a
// directory another user owns or can write is refused with a warning and the cache
// carries on in memory; the /tmp fallback is per user and checked.
//
// Runs as root (CI) and as a regular user: ownership cases chown to another uid where
// the test is root, and use a directory root owns where it is not.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include "support/disk_testing.h"
#include "support/test_helpers.h"

using namespace disk_test;
using namespace std::chrono_literals;

namespace {

constexpr uid_t kOtherUser = 12345;

// Restores the process umask when the test ends.
struct Umask {
  explicit Umask(mode_t mask) : saved(::umask(mask)) {}
  ~Umask() { ::umask(saved); }
  mode_t saved;
};

// A cache directory holding a valid planted entry for kKey in its per-function folder.
fs::path planted_root(const fs::path& parent, const std::vector<std::byte>& payload) {
  const fs::path root = parent / "cache";
  Warnings quiet;
  const memo::DiskCache writer = make_cache(root, quiet);
  REQUIRE(writer.store(memo::Key{1, 1}, payload_bytes(8), {}));  // creates root and folder
  write_file(writer.file_for(kKey), valid_file(payload));
  return root;
}

}  // namespace

TEST_CASE("disk: folders are created 0700 and files 0600, whatever the umask allows", "[disk]") {
  const Umask loose(022);
  TempDir dir;
  const fs::path root = dir.path / "made" / "by" / "memo";
  Warnings warnings;
  const memo::DiskCache cache = make_cache(root, warnings);
  REQUIRE(cache.store(kKey, payload_bytes(32), {}));
  CHECK(warnings.count() == 0);
  CHECK(mode_of(dir.path / "made") == 0700);
  CHECK(mode_of(root) == 0700);
  CHECK(mode_of(cache.folder()) == 0700);
  CHECK(mode_of(cache.file_for(kKey)) == 0600);
}

TEST_CASE("disk: a per-function folder left 0755 by an older version is closed to others", "[disk]") {
  TempDir dir;
  Warnings warnings;
  const memo::DiskCache cache = make_cache(dir.path, warnings);
  fs::create_directories(cache.folder());
  ::chmod(cache.folder().c_str(), 0755);
  REQUIRE(cache.store(kKey, payload_bytes(32), {}));
  CHECK(mode_of(cache.folder()) == 0700);
  CHECK(warnings.count() == 0);
}

TEST_CASE("disk: a cache directory others can write is refused - the cache carries on in memory",
          "[disk]") {
  for (const mode_t mode : {mode_t{0777}, mode_t{0770}, mode_t{01777}}) {
    DYNAMIC_SECTION("mode " << std::oct << mode) {
      TempDir dir;
      const fs::path root = planted_root(dir.path, payload_bytes(64, 42));
      ::chmod(root.c_str(), mode);
      Warnings warnings;
      const memo::DiskCache cache = make_cache(root, warnings);
      CHECK_FALSE(cache.load(kKey).has_value());  // before the fix: the planted value
      CHECK_FALSE(cache.prepare(memo::Key{2, 2}, payload_bytes(8), {}).has_value());
      CHECK(cache.count() == 0);
      CHECK(warnings.count() == 1);
      CHECK_THAT(warnings.all(), Catch::Contains("writable by group or others") &&
                                     Catch::Contains("carries on in memory"));

      // Through cache_data: one warning, right values, the function runs once.
      auto observer = memo_test::recorder();
      int runs = 0;
      auto cached = memo::cache_data([&runs](int n) { ++runs; return n * 2; },
                                     {.name = "refused_dir_" + std::to_string(mode), .show_spinner = false,
                                      .observer = observer, .persist = memo::Persist::disk,
                                      .persist_directory = root});
      CHECK(cached(21) == 42);
      CHECK(cached(21) == 42);
      CHECK(runs == 1);
      CHECK(observer->count(memo::RecordingObserver::Event::warning) == 1);
    }
  }
}

TEST_CASE("disk: a cache directory owned by another user is refused", "[disk]") {
  TempDir dir;
  fs::path root;
  std::string owner;
  if (::geteuid() == 0) {
    root = planted_root(dir.path, payload_bytes(64, 42));
    REQUIRE(::chown(root.c_str(), kOtherUser, kOtherUser) == 0);
    owner = "uid " + std::to_string(kOtherUser);
  } else {
    root = "/";  // owned by root; nothing can be planted there by this user, but it must be refused
    owner = "uid 0";
  }
  Warnings warnings;
  const memo::DiskCache cache = make_cache(root, warnings);
  CHECK_FALSE(cache.load(kKey).has_value());
  CHECK_FALSE(cache.prepare(memo::Key{2, 2}, payload_bytes(8), {}).has_value());
  CHECK(warnings.count() == 1);
  CHECK_THAT(warnings.all(), Catch::Contains("belongs to " + owner) && Catch::Contains("refused"));
}

TEST_CASE("disk: a per-function folder owned by another user is refused", "[disk]") {
  if (::geteuid() != 0) {
    WARN("skipped: only root can give a folder to another user; the cache-directory case "
         "above covers ownership for regular users");
    return;
  }
  TempDir dir;
  const fs::path root = planted_root(dir.path, payload_bytes(64, 42));
  Warnings warnings;
  const memo::DiskCache cache = make_cache(root, warnings);
  REQUIRE(::chown(cache.folder().c_str(), kOtherUser, kOtherUser) == 0);
  CHECK_FALSE(cache.load(kKey).has_value());
  CHECK(warnings.count() == 1);
  CHECK_THAT(warnings.all(), Catch::Contains("belongs to uid " + std::to_string(kOtherUser)));
}

TEST_CASE("disk: an entry file owned by another user is refused", "[disk]") {
  if (::geteuid() != 0) {
    WARN("skipped: only root can give a file to another user");
    return;
  }
  TempDir dir;
  const fs::path root = planted_root(dir.path, payload_bytes(64, 42));
  Warnings warnings;
  const memo::DiskCache cache = make_cache(root, warnings);
  REQUIRE(::chown(cache.file_for(kKey).c_str(), kOtherUser, kOtherUser) == 0);
  CHECK_FALSE(cache.load(kKey).has_value());
  CHECK_THAT(warnings.all(), Catch::Contains("belongs to uid " + std::to_string(kOtherUser)));
}

TEST_CASE("disk: without HOME, XDG_CACHE_HOME and MEMO_CACHE_DIR the fallback is per user", "[disk]") {
  const int status = in_child(
      [] {
        ::unsetenv("MEMO_CACHE_DIR");
        ::unsetenv("XDG_CACHE_HOME");
        ::unsetenv("HOME");
        const fs::path expected = "/tmp/memo-cache-" + std::to_string(::geteuid());
        return memo::default_cache_directory() == expected ? 0 : 1;
      },
      10s);
  CHECK(status == 0);
}

TEST_CASE("disk: a cache directory that is a symbolic link in a world-writable directory is refused",
          "[disk]") {
  TempDir dir;
  // What another user could do in /tmp: point the victim's fallback name at a
  // directory of their choosing (here one the victim owns, so only the link is wrong).
  const fs::path shared = dir.path / "tmp";
  fs::create_directories(shared);
  ::chmod(shared.c_str(), 01777);
  const fs::path target = planted_root(dir.path, payload_bytes(64, 42));
  const fs::path link = shared / ("memo-cache-" + std::to_string(::geteuid()));
  fs::create_symlink(target, link);
  Warnings warnings;
  const memo::DiskCache cache = make_cache(link, warnings);
  CHECK_FALSE(cache.load(kKey).has_value());  // before the fix: the planted value
  CHECK_FALSE(cache.prepare(memo::Key{2, 2}, payload_bytes(8), {}).has_value());
  CHECK(warnings.count() == 1);
  CHECK_THAT(warnings.all(), Catch::Contains("symbolic link in a directory anyone can write"));

  // The same link in a directory only this user can write is the user's own choice.
  const fs::path mine = dir.path / "my-link";
  fs::create_symlink(target, mine);
  Warnings fine;
  const memo::DiskCache followed = make_cache(mine, fine);
  CHECK(followed.load(kKey).has_value());
  CHECK(fine.count() == 0);
}
