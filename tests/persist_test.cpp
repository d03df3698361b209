#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "support/disk_testing.h"
#include "support/test_helpers.h"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using disk_test::TempDir;

std::vector<fs::path> entry_files(const fs::path& root) {
  std::vector<fs::path> files;
  for (const auto& item : fs::recursive_directory_iterator(root)) {
    if (item.path().extension() == ".memo" && item.path().filename().string()[0] != '.') {
      files.push_back(item.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<double> numbers(int seed, std::size_t count) {
  std::vector<double> values(count);
  for (std::size_t i = 0; i < count; ++i) values[i] = seed * 1e6 + static_cast<double>(i);
  return values;
}

// A cache_data over `dir` whose function counts its runs; one per "process".
auto persisted(const fs::path& dir, int& runs, std::shared_ptr<memo::MissObserver> observer,
               std::optional<std::chrono::nanoseconds> ttl = {},
               std::optional<std::size_t> max_entries = {}) {
  return memo::cache_data([&runs](int seed) { ++runs; return numbers(seed, 1000); },
                          {.name = "persisted_numbers", .ttl = ttl, .max_entries = max_entries,
                           .show_spinner = false, .observer = std::move(observer),
                           .persist = memo::Persist::disk, .persist_directory = dir});
}

int wait_for(pid_t child) {
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Runs `body` as a new process would: in a child, while this process never uses the
// cache, so the child starts with nothing of it in memory (caches live for the process,
// so a cache declared again in one process finds its memory entries, not the files).
// Returns the child's `body()`: 0 when its checks held, else the number of the first
// that failed.
template <class Body>
int as_new_process(Body body) {
  return disk_test::in_child(body, std::chrono::seconds(120));
}

}  // namespace

TEST_CASE("persist: a new cache over the same directory reads what the last one wrote") {
  TempDir dir;
  CHECK(as_new_process([&] {
          int runs = 0;
          auto first = persisted(dir.path, runs, memo_test::recorder());
          return first(1) == numbers(1, 1000) && runs == 1 ? 0 : 1;
        }) == 0);
  CHECK(as_new_process([&] {
          int runs = 0;
          auto observer = memo_test::recorder();
          auto second = persisted(dir.path, runs, observer);
          if (second(1) != numbers(1, 1000)) return 1;
          if (runs != 0 || second.stats().disk_hits != 1) return 2;
          if (second(1) != numbers(1, 1000) || second.stats().hits != 1) return 3;  // memory
          return observer->count(memo::RecordingObserver::Event::warning) == 0 ? 0 : 4;
        }) == 0);
}

TEST_CASE("persist: a second process sharing the directory sees the entries") {
  TempDir dir;
  const pid_t child = ::fork();
  if (child == 0) {
    int runs = 0;
    auto writer = persisted(dir.path, runs, memo_test::recorder());
    writer(7);
    ::_exit(runs == 1 ? 0 : 1);
  }
  REQUIRE(wait_for(child) == 0);
  int runs = 0;
  auto reader = persisted(dir.path, runs, memo_test::recorder());
  CHECK((reader(7) == numbers(7, 1000)));
  CHECK(runs == 0);
}

TEST_CASE("persist: ttl applies to files on disk") {
  // 500 ms of ttl; a busy machine may take longer than that between two processes, so a
  // "fresh" read counts only when it started well within the ttl (else the pair is
  // tried again in a new directory).
  constexpr auto kTtl = 500ms;
  bool fresh_read_seen = false;
  for (int attempt = 0; attempt < 5 && !fresh_read_seen; ++attempt) {
    TempDir dir;
    auto runs_in_new_process = [&] {
      return as_new_process([&] {
        int runs = 0;
        auto cache = persisted(dir.path, runs, memo_test::recorder(), kTtl);
        cache(1);
        return runs + 10 * static_cast<int>(cache.stats().disk_hits);
      });
    };
    const auto written = std::chrono::steady_clock::now();
    REQUIRE(runs_in_new_process() == 1);  // computed
    const int second = runs_in_new_process();
    if (std::chrono::steady_clock::now() - written < kTtl / 2) {
      CHECK(second == 10);  // fresh enough: read from disk
      fresh_read_seen = true;
    }
    if (fresh_read_seen) {
      std::this_thread::sleep_for(kTtl + 100ms);
      CHECK(runs_in_new_process() == 1);  // expired on disk: computed again
    }
  }
  if (!fresh_read_seen) WARN("the machine was too busy to read within the ttl; not checked");
}

TEST_CASE("persist: max_entries applies on disk - the least recently used file goes") {
  TempDir dir;
  CHECK(as_new_process([&] {
          int runs = 0;
          auto cache = persisted(dir.path, runs, memo_test::recorder(), {}, 2);
          cache(1);
          std::this_thread::sleep_for(20ms);  // file times must differ
          cache(2);
          std::this_thread::sleep_for(20ms);
          cache(3);
          return entry_files(dir.path).size() == 2 ? 0 : 1;
        }) == 0);
  CHECK(as_new_process([&] {
          int runs = 0;
          auto fresh = persisted(dir.path, runs, memo_test::recorder(), {}, 2);
          fresh(2);
          fresh(3);
          if (runs != 0) return 1;  // 2 and 3 came from disk
          fresh(1);
          return runs == 1 ? 0 : 2;  // 1 was the least recently used file and went
        }) == 0);
}

TEST_CASE("persist: clear(args) and clear() remove the files too") {
  TempDir dir;
  int runs = 0;
  auto cache = persisted(dir.path, runs, memo_test::recorder());
  cache(1);
  cache(2);
  REQUIRE(entry_files(dir.path).size() == 2);
  cache.clear(1);
  CHECK(entry_files(dir.path).size() == 1);
  cache.clear();
  CHECK(entry_files(dir.path).empty());
}

TEST_CASE("persist: a corrupt, truncated, foreign-version or checksum-failing file is a miss with one warning, then replaced") {
  const std::vector<std::pair<const char*, std::function<void(std::string&)>>> damages = {
      {"checksum", [](std::string& b) { b[b.size() - 3] ^= 0x5a; }},
      {"truncated", [](std::string& b) { b.resize(b.size() / 2); }},
      {"version", [](std::string& b) { b[8] = 9; }},
      {"garbage", [](std::string& b) { b = "this is not a cache file at all"; }},
      {"empty", [](std::string& b) { b.clear(); }},
  };
  for (const auto& [name, damage] : damages) {
    DYNAMIC_SECTION("damage: " << name) {
      TempDir dir;
      REQUIRE(as_new_process([&] {
                int runs = 0;
                persisted(dir.path, runs, memo_test::recorder())(1);
                return runs == 1 ? 0 : 1;
              }) == 0);
      const auto files = entry_files(dir.path);
      REQUIRE(files.size() == 1);
      std::string bytes;
      {
        std::ifstream in(files[0], std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
      }
      damage(bytes);
      {
        std::ofstream out(files[0], std::ios::binary | std::ios::trunc);
        out << bytes;
      }
      CHECK(as_new_process([&] {
              int runs = 0;
              auto observer = memo_test::recorder();
              auto cache = persisted(dir.path, runs, observer);
              if (cache(1) != numbers(1, 1000)) return 1;
              if (runs != 1) return 2;
              return observer->count(memo::RecordingObserver::Event::warning) == 1 ? 0 : 3;
            }) == 0);
      // The recomputation wrote a good file over the bad one: a new process reads it.
      CHECK(as_new_process([&] {
              int runs = 0;
              auto after = memo_test::recorder();
              auto reread = persisted(dir.path, runs, after);
              if (reread(1) != numbers(1, 1000)) return 1;
              if (runs != 0 || reread.stats().disk_hits != 1) return 2;
              return after->count(memo::RecordingObserver::Event::warning) == 0 ? 0 : 3;
            }) == 0);
    }
  }
}

TEST_CASE("persist: a process killed with SIGKILL during large writes leaves no partial entry") {
  TempDir dir;
  const pid_t child = ::fork();
  if (child == 0) {
    auto big = memo::cache_data(
        [](int seed) { return numbers(seed, 2'000'000); },  // 16 MB per entry
        {.name = "killed_writer", .show_spinner = false, .observer = memo_test::recorder(),
         .persist = memo::Persist::disk, .persist_directory = dir.path});
    for (int seed = 0;; ++seed) big(seed);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300 + std::random_device{}() % 300));
  ::kill(child, SIGKILL);
  REQUIRE(wait_for(child) == 128 + SIGKILL);

  auto observer = memo_test::recorder();
  int runs = 0;
  auto reader = memo::cache_data(
      [&runs](int seed) { ++runs; return numbers(seed, 2'000'000); },
      {.name = "killed_writer", .show_spinner = false, .observer = observer,
       .persist = memo::Persist::disk, .persist_directory = dir.path});
  const auto files = entry_files(dir.path);
  INFO(files.size() << " whole entries were written before the kill");
  for (std::size_t seed = 0; seed < files.size(); ++seed) {
    CHECK((reader(static_cast<int>(seed)) == numbers(static_cast<int>(seed), 2'000'000)));
  }
  CHECK(runs == 0);  // every visible file was whole and readable
  CHECK(observer->count(memo::RecordingObserver::Event::warning) == 0);
}

TEST_CASE("persist: concurrent writers in several processes never corrupt each other") {
  TempDir dir;
  std::vector<pid_t> children;
  for (int p = 0; p < 3; ++p) {
    const pid_t child = ::fork();
    if (child == 0) {
      auto observer = memo_test::recorder();
      auto writer = memo::cache_data(
          [](int seed) { return numbers(seed, 100'000); },
          {.name = "shared_writer", .show_spinner = false, .observer = observer,
           .persist = memo::Persist::disk, .persist_directory = dir.path});
      for (int round = 0; round < 5; ++round) {
        for (int seed = 0; seed < 8; ++seed) {
          writer(seed);
          writer.clear(seed);  // forget and write again: maximal overlap between processes
        }
      }
      ::_exit(observer->count(memo::RecordingObserver::Event::warning) == 0 ? 0 : 1);
    }
    children.push_back(child);
  }
  for (pid_t child : children) CHECK(wait_for(child) == 0);
  auto observer = memo_test::recorder();
  auto reader = memo::cache_data(
      [](int seed) { return numbers(seed, 100'000); },
      {.name = "shared_writer", .show_spinner = false, .observer = observer,
       .persist = memo::Persist::disk, .persist_directory = dir.path});
  for (int seed = 0; seed < 8; ++seed) CHECK((reader(seed) == numbers(seed, 100'000)));
  CHECK(observer->count(memo::RecordingObserver::Event::warning) == 0);
}

TEST_CASE("persist: a full disk is one warning per failed write and the cache works in memory") {
  TempDir dir;
  const pid_t child = ::fork();
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);  // writes past the limit fail with EFBIG instead
    const rlimit tiny{4096, 4096};
    ::setrlimit(RLIMIT_FSIZE, &tiny);
    auto observer = memo_test::recorder();
    int runs = 0;
    auto cache = persisted(dir.path, runs, observer);  // 8 KB payloads do not fit
    const bool values_ok = cache(1) == numbers(1, 1000) && cache(1) == numbers(1, 1000);
    const auto events = observer->events();
    const bool warned = observer->count(memo::RecordingObserver::Event::warning) == 1 &&
                        events.back().text.find("cannot persist") != std::string::npos;
    ::_exit(values_ok && runs == 1 && warned && entry_files(dir.path).empty() ? 0 : 1);
  }
  CHECK(wait_for(child) == 0);
}

TEST_CASE("persist: an unusable cache directory is a warning, never a crash") {
  TempDir dir;
  const fs::path not_a_directory = dir.path / "file";
  std::ofstream(not_a_directory) << "x";
  auto observer = memo_test::recorder();
  int runs = 0;
  auto cache = persisted(not_a_directory / "cache", runs, observer);
  CHECK((cache(1) == numbers(1, 1000)));
  CHECK((cache(1) == numbers(1, 1000)));
  CHECK(runs == 1);
  // One warning for the cache, not one per call: the tier is unusable, not each entry.
  CHECK(observer->count(memo::RecordingObserver::Event::warning) == 1);
  std::string warning;
  for (const auto& event : observer->events()) {
    if (event.kind == memo::RecordingObserver::Event::warning) warning = event.text;
  }
  CHECK_THAT(warning, Catch::Contains("cache directory") && Catch::Contains("Not a directory") &&
                          Catch::Contains("carries on in memory"));
}
