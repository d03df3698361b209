// DiskCache: cache_data's persist = disk tier. One file per entry, shared safely by
// every process that points at the same directory.
//
// Layout: <directory>/<function key hex>/<value key hex>.memo. One folder per cache
// identity makes clear() and the max_entries count a directory walk of that folder only.
//
// File format, version 1 (little-endian), header then body:
//   "MEMODSK1" | u32 format version | u32 header size | function key (16) | value key (16)
//   | i64 creation time (ns since the Unix epoch) | u64 messages size | u64 payload size
//   | u64 XXH3-64 of the body | body = messages (u32 count, then u32 length + bytes each)
//   followed by the payload.
//
// Guarantees, and how:
// - Atomic writes: a unique temporary file in the same folder, written, fsync'd, then
//   rename()d over the final name. A process killed mid-write leaves at most a stray
//   temporary (ignored by readers, removed by clear()), never a partial entry.
// - Concurrent writers (threads or processes) never corrupt each other: each writes its
//   own temporary; the last rename wins and every version is whole.
// - Untrusted input: a missing, truncated, foreign-version, foreign-key or
//   checksum-failing file is a miss with one warning, and is removed so the next write
//   replaces it. Nothing is read past the file's size.
// - ttl applies (creation time in the header, wall clock), unlike Streamlit's disk
//   cache (its issue #4859). max_entries applies: after a write, the least recently used
//   files (by modification time, which a hit refreshes) beyond the bound are removed.
// - I/O errors (full disk, unwritable directory) never throw: they are reported through
//   the warning callback and the cache carries on in memory.
//
// Thread safety: all members are thread safe; no lock is held across I/O of another
// thread (the file system arbitrates).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "memo/codec.h"
#include "memo/key.h"

namespace memo {

// $MEMO_CACHE_DIR, else $XDG_CACHE_HOME/memo, else $HOME/.cache/memo, else /tmp/memo-cache.
std::filesystem::path default_cache_directory();

struct DiskEntry {
  Payload payload;
  std::vector<std::string> messages;
  std::chrono::system_clock::time_point created;
};

class DiskCache {
 public:
  using Warn = std::function<void(const std::string&)>;

  DiskCache(std::filesystem::path directory, const Key& function_key,
            std::optional<std::chrono::nanoseconds> ttl, std::optional<std::size_t> max_entries,
            Warn warn);

  // The entry for `key` if a valid, unexpired file holds it; refreshes its recency.
  std::optional<DiskEntry> load(const Key& key) const;
  // Writes atomically, then trims to max_entries. Returns false (after a warning) on error.
  bool store(const Key& key, std::span<const std::byte> payload,
             const std::vector<std::string>& messages) const;
  void erase(const Key& key) const;
  void clear() const;
  // Entries on disk for this cache (temporaries not counted).
  std::size_t count() const;

  const std::filesystem::path& folder() const { return folder_; }
  std::filesystem::path file_for(const Key& key) const;

  // Encodes / decodes one file's bytes; decode throws CorruptData. Public for the
  // fuzz target and tests.
  static std::vector<std::byte> encode_file(const Key& function_key, const Key& key,
                                            std::chrono::system_clock::time_point created,
                                            std::span<const std::byte> payload,
                                            const std::vector<std::string>& messages);
  static DiskEntry decode_file(std::span<const std::byte> bytes, const Key& function_key,
                               const Key& key);

 private:
  void trim() const;
  void discard(const std::filesystem::path& file, const std::string& why) const;

  const std::filesystem::path folder_;
  const Key function_key_;
  const std::optional<std::chrono::nanoseconds> ttl_;
  const std::optional<std::size_t> max_entries_;
  const Warn warn_;
};

}  // namespace memo
