// DiskCache: cache_data's persist = disk tier. One file per entry, shared safely by
// every process of one user that points at the same directory. Choose it (through
// `.persist = memo::Persist::disk`) when a value costs more to compute than to read
// back, and should outlive the process.
//
// Layout: <directory>/<function key hex>/<value key hex>.memo. One folder per cache
// identity makes clear() and the max_entries count a walk of that folder only.
//
// File format, version 2 (little-endian), an 88-byte header then the body:
//   "MEMODSK1" | u32 format version (2) | u32 header size (88) | function key (16)
//   | value key (16) | u64 value fingerprint | i64 creation time (ns since the Unix epoch)
//   | u64 messages size | u64 payload size | u64 XXH3-64 of the header's first 80 bytes
//   and the body | body = messages (u32 count, then u32 length + bytes each), payload.
//
// Guarantees, and how:
// - Atomic writes: prepare() writes a temporary file (mode 0600) in the entry's folder
//   and fsyncs it; commit() renames it over the final name. A process killed mid-write
//   leaves at most a stray temporary, never a partial entry. Concurrent writers
//   (threads or processes) each write their own temporary; the last rename wins and
//   every version is whole.
// - The value's type is part of the file: the cache layer passes a fingerprint of the
//   result type's layout or serialization schema, and a file written with another
//   fingerprint is refused before anything decodes it (a miss, one warning, removed).
// - Untrusted bytes: a truncated, foreign-version, foreign-key or checksum-failing file
//   is a miss with one warning, and is removed so the next write replaces it. Sizes in
//   the header are checked against the file's real size before anything is allocated,
//   a file larger than the memory available is not read, and nothing is read past the
//   file's end.
// - Only regular files are read, and nothing is followed out of the cache directory:
//   entries are opened with O_NOFOLLOW | O_NONBLOCK and checked with fstat, so a FIFO,
//   a device or a symbolic link named like an entry is refused with a warning and no
//   open can block; a per-function folder that is a symbolic link is refused.
// - Private by default: folders are created 0700 and files 0600. The cache directory
//   and the per-function folder must belong to this process's effective user and must
//   not be writable by group or others; otherwise the disk tier is refused with one
//   warning and the cache carries on in memory. A cache directory that is a symbolic
//   link inside a world-writable directory (such as /tmp) is refused too: anyone could
//   have made it. The fallback directory under /tmp is per user (memo-cache-<uid>).
// - Stale temporaries: a writer holds an flock(2) on its temporary from creation until
//   commit or abandon. Loads and writes (at most once a minute per DiskCache) and
//   clear() remove temporaries that no process holds locked and that are older than
//   kTemporaryGrace (covering the instant between a writer's create and its lock), so
//   a killed writer's bytes go and a live writer's never do.
// - ttl applies (creation time in the header, wall clock), unlike Streamlit's disk
//   cache (its issue #4859). max_entries applies: after a commit, the least recently
//   used files (by modification time, which a hit refreshes) beyond the bound go.
// - Nothing throws: every failure (I/O, corrupt or refused file, out of memory) is a
//   warning through the callback (where one is warranted) and a miss or a `false`.
//
// Thread safety: all members are thread safe and hold no lock; the file system
// arbitrates between threads and processes. A PendingWrite belongs to one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "memo/codec.h"
#include "memo/key.h"

namespace memo {

// $MEMO_CACHE_DIR, else $XDG_CACHE_HOME/memo, else $HOME/.cache/memo, else
// /tmp/memo-cache-<effective uid>.
std::filesystem::path default_cache_directory();

struct DiskEntry {
  Payload payload;
  std::vector<std::string> messages;
  std::chrono::system_clock::time_point created;
};

class DiskCache {
 public:
  using Warn = std::function<void(const std::string&)>;

  // An unlocked temporary younger than this may belong to a writer between its create
  // and its lock, so sweeps leave it.
  static constexpr std::chrono::seconds kTemporaryGrace{10};
  // Where locks do not work (flock fails other than with EWOULDBLOCK), a temporary is
  // presumed abandoned only after this long.
  static constexpr std::chrono::hours kTemporaryMaxAge{24};

  // A fully written, fsync'd temporary file, locked by this process until it is
  // committed or abandoned. Move-only; one destroyed uncommitted is abandoned.
  class PendingWrite {
   public:
    PendingWrite(PendingWrite&& other) noexcept;
    PendingWrite& operator=(PendingWrite&& other) noexcept;
    PendingWrite(const PendingWrite&) = delete;
    PendingWrite& operator=(const PendingWrite&) = delete;
    ~PendingWrite();

   private:
    friend class DiskCache;
    PendingWrite(int folder_fd, int file_fd, std::string temporary, std::string final_name);
    void discard() noexcept;  // removes the temporary, closes both descriptors

    int folder_fd_ = -1;  // the per-function folder, so commit renames where prepare wrote
    int file_fd_ = -1;    // the temporary, holding its flock
    std::string temporary_;
    std::string final_name_;
  };

  // `value_fingerprint` identifies the result type's stored form; files written with
  // another one are refused. `directory` is created (0700) on the first write.
  DiskCache(std::filesystem::path directory, const Key& function_key,
            std::uint64_t value_fingerprint, std::optional<std::chrono::nanoseconds> ttl,
            std::optional<std::size_t> max_entries, Warn warn);
  DiskCache(DiskCache&&) noexcept;
  ~DiskCache();

  // The entry for `key` if a valid, unexpired regular file holds it; refreshes its
  // recency. Never throws: any failure is at most one warning and nullopt.
  std::optional<DiskEntry> load(const Key& key) const;

  // Writes the entry to a locked temporary and fsyncs it; nullopt (after a warning)
  // when it cannot. Never throws.
  std::optional<PendingWrite> prepare(const Key& key, std::span<const std::byte> payload,
                                      const std::vector<std::string>& messages) const;
  // Renames the temporary into place, then trims to max_entries. Short (a rename and,
  // with max_entries, one folder walk) so a caller may hold a lock across it. False
  // when the rename fails, after a warning, or, when `failure` is given, with the
  // warning's text put there instead, so a caller holding a lock can report it after
  // releasing the lock (the warning callback is user code). Never throws.
  bool commit(PendingWrite&& pending, std::string* failure = nullptr) const;
  // Removes the temporary.
  void abandon(PendingWrite&& pending) const noexcept;
  // prepare() then commit().
  bool store(const Key& key, std::span<const std::byte> payload,
             const std::vector<std::string>& messages) const;

  // Never throw; a refused or missing folder holds nothing.
  void erase(const Key& key) const;
  void clear() const;  // every entry, and the stale temporaries
  std::size_t count() const;  // entries on disk for this cache (temporaries not counted)

  const std::filesystem::path& folder() const { return folder_; }
  std::filesystem::path file_for(const Key& key) const;

  // Encodes / decodes one file's bytes; decode throws CorruptData (a file written for
  // another function, key or value fingerprint included). Public for the fuzz target
  // and tests.
  static std::vector<std::byte> encode_file(const Key& function_key, const Key& key,
                                            std::uint64_t value_fingerprint,
                                            std::chrono::system_clock::time_point created,
                                            std::span<const std::byte> payload,
                                            const std::vector<std::string>& messages);
  static DiskEntry decode_file(std::span<const std::byte> bytes, const Key& function_key,
                               const Key& key, std::uint64_t value_fingerprint);

 private:
  struct Shared;  // warn-once and sweep bookkeeping (atomics), kept movable behind a pointer

  std::optional<DiskEntry> load_or_throw(const Key& key) const;
  std::optional<PendingWrite> prepare_or_throw(const Key& key, std::span<const std::byte> payload,
                                               const std::vector<std::string>& messages) const;
  // The per-function folder, opened and checked; -1 when it is missing (and `create`
  // is false) or refused (warned once).
  int open_folder(bool create) const;
  void sweep_if_due(int folder_fd) const;
  void trim(int folder_fd) const;
  // Removes `name` if it is still the file that was read (device, inode), then warns
  // `why` (unless empty).
  void discard(int folder_fd, const std::string& name, std::uint64_t device, std::uint64_t inode,
               const std::string& why) const;
  void report(const std::string& message) const noexcept;

  std::filesystem::path root_;
  std::filesystem::path folder_;
  Key function_key_;
  std::uint64_t value_fingerprint_;
  std::optional<std::chrono::nanoseconds> ttl_;
  std::optional<std::size_t> max_entries_;
  Warn warn_;
  std::unique_ptr<Shared> shared_;
};

}  // namespace memo
