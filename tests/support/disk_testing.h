// Helpers for the disk tier's tests (tests/disk_*_test.cpp): a private temporary
// directory, a warning recorder, valid entry bytes, and a forked child with a time
// limit for cases where the defect is a hang or a crash.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <cstring>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "memo/disk_cache.h"

namespace disk_test {

namespace fs = std::filesystem;

inline const memo::Key kFunction{0x1111, 0x2222};
inline const memo::Key kKey{0x3333, 0x4444};
inline constexpr std::uint64_t kFingerprint = 0xf1f2f3f4f5f6f7f8ull;

struct TempDir {
  TempDir() {
    char pattern[] = "/tmp/memo-disk-test-XXXXXX";
    const char* made = ::mkdtemp(pattern);
    path = made != nullptr ? made : "";
  }
  ~TempDir() {
    std::error_code ignored;
    // Tests chmod and chown things; make everything removable again first.
    for (auto it = fs::recursive_directory_iterator(path, ignored);
         it != fs::recursive_directory_iterator(); it.increment(ignored)) {
      if (it->is_directory(ignored) && !it->is_symlink(ignored)) ::chmod(it->path().c_str(), 0700);
    }
    fs::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  fs::path path;
};

// Collects warnings; thread safe.
struct Warnings {
  std::shared_ptr<std::mutex> mu = std::make_shared<std::mutex>();
  std::shared_ptr<std::vector<std::string>> texts = std::make_shared<std::vector<std::string>>();

  memo::DiskCache::Warn sink() const {
    return [mu = mu, texts = texts](const std::string& text) {
      std::lock_guard lock(*mu);
      texts->push_back(text);
    };
  }
  std::size_t count() const {
    std::lock_guard lock(*mu);
    return texts->size();
  }
  std::string all() const {
    std::lock_guard lock(*mu);
    std::string joined;
    for (const auto& text : *texts) joined += text + "\n";
    return joined;
  }
};

inline memo::DiskCache make_cache(const fs::path& root, const Warnings& warnings,
                                  std::uint64_t fingerprint = kFingerprint,
                                  std::optional<std::size_t> max_entries = {}) {
  return memo::DiskCache(root, kFunction, fingerprint, std::nullopt, max_entries, warnings.sink());
}

inline std::vector<std::byte> payload_bytes(std::size_t size, unsigned seed = 7) {
  std::vector<std::byte> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>((i * 131 + seed) & 0xff);
  return bytes;
}

inline bool same_bytes(const memo::Payload& payload, const std::vector<std::byte>& expected) {
  return payload.size == expected.size() &&
         std::equal(expected.begin(), expected.end(), payload.data.get());
}

// A valid cache file for (kFunction, `key`, `fingerprint`) holding `payload`.
inline std::vector<std::byte> valid_file(const std::vector<std::byte>& payload,
                                         std::uint64_t fingerprint = kFingerprint,
                                         const memo::Key& key = kKey) {
  return memo::DiskCache::encode_file(kFunction, key, fingerprint, std::chrono::system_clock::now(),
                                      payload, {"planted"});
}

inline void write_file(const fs::path& path, const std::vector<std::byte>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<std::byte> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  std::vector<std::byte> bytes(text.size());
  std::memcpy(bytes.data(), text.data(), text.size());
  return bytes;
}

inline mode_t mode_of(const fs::path& path) {
  struct stat info {};
  ::lstat(path.c_str(), &info);
  return info.st_mode & 07777;
}

// Sets a file's modification time `age` into the past (without following links).
inline void backdate(const fs::path& path, std::chrono::seconds age) {
  const auto then = std::chrono::system_clock::now() - age;
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(then.time_since_epoch()).count();
  const timespec times[2] = {{ns / 1'000'000'000, ns % 1'000'000'000}, {ns / 1'000'000'000, ns % 1'000'000'000}};
  ::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

// Temporaries (".*.tmp") anywhere under `root`.
inline std::vector<fs::path> temporaries(const fs::path& root) {
  std::vector<fs::path> found;
  std::error_code ignored;
  for (auto it = fs::recursive_directory_iterator(root, ignored);
       it != fs::recursive_directory_iterator(); it.increment(ignored)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 5 && name[0] == '.' && name.ends_with(".tmp")) found.push_back(it->path());
  }
  return found;
}

// Runs `body` in a forked child killed after `limit`; returns its exit status, or
// 128 + the signal that ended it (SIGKILL when the limit ran out: a hang).
inline int in_child(const std::function<int()>& body, std::chrono::seconds limit) {
  const pid_t child = ::fork();
  if (child == 0) {
    ::alarm(static_cast<unsigned>(limit.count()));  // default action: terminate
    int status = 1;
    try {
      status = body();
    } catch (...) {
      status = 3;
    }
    ::_exit(status);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace disk_test
