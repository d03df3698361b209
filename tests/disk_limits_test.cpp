// DiskCache::load never throws and never allocates beyond the real file size and the
// memory available: a huge size field, a sparse file of a terabyte, an allocation
// that fails and a warning sink that throws are each a miss (with a warning where one
// is warranted).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>

#include "memo/memory.h"
#include "support/disk_testing.h"

using namespace disk_test;
using namespace std::chrono_literals;

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;  // their shadow memory needs more address space than any limit
#else
constexpr bool kSanitized = false;
#endif

// True (with a note) where the address-space limit these tests set cannot work.
bool sanitizer_skips() {
  if (kSanitized) WARN("skipped under a sanitizer: the address-space limit this test sets would stop it");
  return kSanitized;
}

void set_field(std::vector<std::byte>& file, std::size_t offset, std::uint64_t value) {
  std::memcpy(file.data() + offset, &value, sizeof value);
}

}  // namespace

TEST_CASE("disk: a size field larger than the file is a miss with one warning", "[disk]") {
  for (const std::size_t offset : {std::size_t{64}, std::size_t{72}}) {  // messages, payload size
    DYNAMIC_SECTION("field at " << offset) {
      TempDir dir;
      Warnings warnings;
      const memo::DiskCache cache = make_cache(dir.path, warnings);
      REQUIRE(cache.store(kKey, payload_bytes(100), {}));
      auto bytes = valid_file(payload_bytes(100));
      set_field(bytes, offset, std::uint64_t{1} << 62);
      write_file(cache.file_for(kKey), bytes);
      CHECK_FALSE(cache.load(kKey).has_value());
      CHECK(warnings.count() == 1);
      CHECK_THAT(warnings.all(), Catch::Contains("does not match its header"));
      CHECK_FALSE(fs::exists(cache.file_for(kKey)));
    }
  }
}

TEST_CASE("disk: a file larger than the memory available is not read", "[disk]") {
  if (sanitizer_skips()) return;
  TempDir dir;
  Warnings warnings;
  const memo::DiskCache cache = make_cache(dir.path, warnings);
  REQUIRE(cache.store(kKey, payload_bytes(100), {}));
  {  // A sparse terabyte: costs no disk, but reading it whole would need a terabyte.
    const int fd = ::open(cache.file_for(kKey).c_str(), O_WRONLY | O_TRUNC);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, off_t{1} << 40) == 0);
    ::close(fd);
  }
  // In a child with 4 GiB of address space, so the old reader's allocation fails fast.
  const int status = in_child(
      [&] {
        const rlimit limit{std::uint64_t{4} << 30, std::uint64_t{4} << 30};
        ::setrlimit(RLIMIT_AS, &limit);
        Warnings seen;
        const bool missed = !make_cache(dir.path, seen).load(kKey).has_value();
        return missed && seen.count() == 1 && seen.all().find("memory available") != std::string::npos
                   ? 0
                   : 1;
      },
      60s);
  CHECK(status == 0);  // before the fix: std::bad_alloc escaped load()
  CHECK(fs::exists(cache.file_for(kKey)));  // a big file is not corrupt: it stays
}

TEST_CASE("disk: an allocation that fails while loading is a miss with a warning", "[disk]") {
  if (sanitizer_skips()) return;
  TempDir dir;
  Warnings warnings;
  const memo::DiskCache cache = make_cache(dir.path, warnings);
  const auto payload = payload_bytes(std::size_t{256} << 20);
  REQUIRE(cache.store(kKey, payload, {}));
  const int status = in_child(
      [&] {
        // Room for what the process holds now, not for another 256 MiB.
        memo::release_pooled_memory();  // a pooled block would serve the load without mapping
        rlimit limit{};
        ::getrlimit(RLIMIT_AS, &limit);
        std::uint64_t used = 0;
        {
          std::ifstream statm("/proc/self/statm");
          statm >> used;
        }
        used *= static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
        limit.rlim_cur = used + (std::uint64_t{64} << 20);
        ::setrlimit(RLIMIT_AS, &limit);
        Warnings seen;
        const bool missed = !make_cache(dir.path, seen).load(kKey).has_value();
        return missed && seen.count() == 1 && seen.all().find("memory") != std::string::npos ? 0 : 1;
      },
      60s);
  CHECK(status == 0);
  const auto entry = cache.load(kKey);  // nothing was removed: it loads with memory to spare
  REQUIRE(entry.has_value());
  CHECK(same_bytes(entry->payload, payload));
}

TEST_CASE("disk: a warning sink that throws does not make load, prepare or commit throw", "[disk]") {
  TempDir dir;
  const memo::DiskCache cache(dir.path, kFunction, kFingerprint, std::nullopt, std::nullopt,
                              [](const std::string&) { throw std::runtime_error("sink failed"); });
  REQUIRE(cache.store(kKey, payload_bytes(10), {}));
  write_file(cache.file_for(kKey), {std::byte{1}, std::byte{2}});  // corrupt: warns
  CHECK_NOTHROW(cache.load(kKey));
  CHECK_FALSE(cache.load(kKey).has_value());
  fs::create_directories(cache.file_for(kKey));  // the rename will fail: warns
  CHECK_NOTHROW(cache.store(kKey, payload_bytes(10), {}));
  CHECK_FALSE(cache.store(kKey, payload_bytes(10), {}));
}
