#include "memo/disk_cache.h"

#define XXH_STATIC_LINKING_ONLY
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "memo/memory.h"

namespace memo {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'M', 'E', 'M', 'O', 'D', 'S', 'K', '1'};
constexpr std::uint32_t kFormatVersion = 2;
// magic, version, header size, function key, value key, fingerprint, created,
// messages size, payload size, checksum.
constexpr std::size_t kHeaderSize = 8 + 4 + 4 + 16 + 16 + 8 + 8 + 8 + 8 + 8;
constexpr std::size_t kChecksummedHeader = kHeaderSize - 8;  // all but the checksum itself
constexpr const char* kSuffix = ".memo";
constexpr const char* kTemporarySuffix = ".tmp";
constexpr std::chrono::seconds kSweepInterval{60};

std::atomic<std::uint64_t> temporary_counter{0};

// Owns one file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  explicit operator bool() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::string error_text(int error) { return std::strerror(error); }

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// Appends into a buffer sized up front. (Growing a vector<byte> by insert() trips
// GCC 12's -Wstringop-overflow false positive at -O3.)
class Writer {
 public:
  explicit Writer(std::size_t size) : bytes_(size) {}
  void bytes(const void* data, std::size_t size) {
    if (size != 0) std::memcpy(bytes_.data() + at_, data, size);
    at_ += size;
  }
  template <class T>
  void put(const T& value) {
    bytes(&value, sizeof value);
  }
  std::vector<std::byte> take() { return std::move(bytes_); }

 private:
  std::vector<std::byte> bytes_;
  std::size_t at_ = 0;
};

template <class T>
T take(std::span<const std::byte> bytes, std::size_t& at) {
  if (sizeof(T) > bytes.size() - at) throw CorruptData("memo: cache file is truncated");
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof value);
  at += sizeof value;
  return value;
}

struct Header {
  Key function_key;
  Key key;
  std::uint64_t value_fingerprint = 0;
  std::int64_t created_ns = 0;
  std::uint64_t messages_size = 0;
  std::uint64_t payload_size = 0;
  std::uint64_t checksum = 0;
};

// Parses the fixed-size header and checks it against what the reader expects and the
// body's real size, so no size field is trusted before it is known to fit the file.
Header parse_header(std::span<const std::byte> bytes, const Key& function_key, const Key& key,
                    std::uint64_t value_fingerprint, std::uint64_t body_size) {
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    throw CorruptData("memo: not a memo cache file (bad magic)");
  }
  std::size_t at = sizeof kMagic;
  if (const auto version = take<std::uint32_t>(bytes, at); version != kFormatVersion) {
    throw CorruptData("memo: cache file has format version " + std::to_string(version) +
                      "; this build reads version " + std::to_string(kFormatVersion));
  }
  if (take<std::uint32_t>(bytes, at) != kHeaderSize) throw CorruptData("memo: cache file header size is wrong");
  Header header;
  header.function_key = take<Key>(bytes, at);
  header.key = take<Key>(bytes, at);
  header.value_fingerprint = take<std::uint64_t>(bytes, at);
  header.created_ns = take<std::int64_t>(bytes, at);
  header.messages_size = take<std::uint64_t>(bytes, at);
  header.payload_size = take<std::uint64_t>(bytes, at);
  header.checksum = take<std::uint64_t>(bytes, at);
  if (header.function_key != function_key) throw CorruptData("memo: cache file belongs to another function");
  if (header.key != key) throw CorruptData("memo: cache file belongs to other arguments");
  if (header.value_fingerprint != value_fingerprint) {
    char text[96];
    std::snprintf(text, sizeof text, "(value fingerprint %016llx, expected %016llx)",
                  static_cast<unsigned long long>(header.value_fingerprint),
                  static_cast<unsigned long long>(value_fingerprint));
    throw CorruptData(std::string("memo: cache file holds another result type ") + text);
  }
  if (header.messages_size > body_size || header.payload_size != body_size - header.messages_size) {
    throw CorruptData("memo: cache file size does not match its header");
  }
  return header;
}

std::vector<std::string> decode_messages(std::span<const std::byte> messages) {
  std::vector<std::string> decoded;
  std::size_t at = 0;
  const auto count = take<std::uint32_t>(messages, at);
  for (std::uint32_t i = 0; i < count; ++i) {
    const auto length = take<std::uint32_t>(messages, at);
    if (length > messages.size() - at) throw CorruptData("memo: cache file message is truncated");
    decoded.emplace_back(reinterpret_cast<const char*>(messages.data() + at), length);
    at += length;
  }
  return decoded;
}

std::chrono::system_clock::time_point from_ns(std::int64_t ns) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(ns)));
}

// XXH3-64 over the header's first kChecksummedHeader bytes and the body.
std::uint64_t file_checksum(const std::byte* header, std::span<const std::byte> messages,
                            std::span<const std::byte> payload) {
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  XXH3_64bits_update(&state, header, kChecksummedHeader);
  XXH3_64bits_update(&state, messages.data(), messages.size());
  XXH3_64bits_update(&state, payload.data(), payload.size());
  return XXH3_64bits_digest(&state);
}

std::vector<std::byte> encode_messages(const std::vector<std::string>& messages) {
  std::size_t size = sizeof(std::uint32_t);
  for (const auto& message : messages) size += sizeof(std::uint32_t) + message.size();
  Writer out(size);
  out.put(static_cast<std::uint32_t>(messages.size()));
  for (const auto& message : messages) {
    out.put(static_cast<std::uint32_t>(message.size()));
    out.bytes(message.data(), message.size());
  }
  return out.take();
}

// Header + messages: everything but the payload, which is written straight from the
// caller's buffer (a frame can be gigabytes; no second copy).
std::vector<std::byte> encode_prefix(const Key& function_key, const Key& key,
                                     std::uint64_t value_fingerprint,
                                     std::chrono::system_clock::time_point created,
                                     std::span<const std::byte> payload,
                                     const std::vector<std::string>& messages) {
  const std::vector<std::byte> body = encode_messages(messages);
  Writer out(kHeaderSize + body.size());
  out.bytes(kMagic, sizeof kMagic);
  out.put(kFormatVersion);
  out.put(static_cast<std::uint32_t>(kHeaderSize));
  out.put(function_key);
  out.put(key);
  out.put(value_fingerprint);
  out.put(static_cast<std::int64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(created.time_since_epoch()).count()));
  out.put(static_cast<std::uint64_t>(body.size()));
  out.put(static_cast<std::uint64_t>(payload.size()));
  std::vector<std::byte> prefix = out.take();
  const std::uint64_t checksum = file_checksum(prefix.data(), body, payload);
  std::memcpy(prefix.data() + kChecksummedHeader, &checksum, sizeof checksum);
  std::memcpy(prefix.data() + kHeaderSize, body.data(), body.size());
  return prefix;
}

bool write_all(int fd, const std::byte* data, std::size_t size, std::string& error) {
  while (size > 0) {
    const ssize_t written = ::write(fd, data, std::min<std::size_t>(size, std::size_t{1} << 30));
    if (written < 0) {
      if (errno == EINTR) continue;
      error = error_text(errno);
      return false;
    }
    data += written;
    size -= static_cast<std::size_t>(written);
  }
  return true;
}

// Reads exactly `size` bytes at `offset`; false on an error or a file that ended early.
bool read_all(int fd, std::byte* data, std::size_t size, std::uint64_t offset, std::string& error) {
  while (size > 0) {
    const ssize_t got = ::pread(fd, data, std::min<std::size_t>(size, std::size_t{1} << 30),
                                static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      error = got < 0 ? error_text(errno) : "the file ended early (shrunk while read)";
      return false;
    }
    data += got;
    size -= static_cast<std::size_t>(got);
    offset += static_cast<std::uint64_t>(got);
  }
  return true;
}

bool is_entry_name(const char* name) {
  const std::size_t length = std::strlen(name);
  const std::size_t suffix = std::strlen(kSuffix);
  return name[0] != '.' && length > suffix && std::strcmp(name + length - suffix, kSuffix) == 0;
}

bool is_temporary_name(const char* name) {
  const std::size_t length = std::strlen(name);
  const std::size_t suffix = std::strlen(kTemporarySuffix);
  return name[0] == '.' && length > suffix + 1 &&
         std::strcmp(name + length - suffix, kTemporarySuffix) == 0;
}

// Names in a folder, read through a duplicate of its descriptor (closedir closes it).
std::vector<std::string> names_in(int folder_fd) {
  std::vector<std::string> names;
  const int copy = ::fcntl(folder_fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return names;
  DIR* dir = ::fdopendir(copy);
  if (dir == nullptr) {
    ::close(copy);
    return names;
  }
  ::rewinddir(dir);  // the duplicate shares its offset with folder_fd
  while (const dirent* item = ::readdir(dir)) {
    if (std::strcmp(item->d_name, ".") != 0 && std::strcmp(item->d_name, "..") != 0) {
      names.emplace_back(item->d_name);
    }
  }
  ::closedir(dir);
  return names;
}

std::chrono::system_clock::time_point modified(const struct stat& info) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(info.st_mtim.tv_sec) + std::chrono::nanoseconds(info.st_mtim.tv_nsec)));
}

// Why a directory must not be used: another user owns it or others may write into it
// (and so plant entries). Empty when it is fine.
std::string refusal(const struct stat& info, const std::string& what, const fs::path& path) {
  if (!S_ISDIR(info.st_mode)) return what + " " + path.string() + " is not a directory";
  if (info.st_uid != ::geteuid()) {
    return what + " " + path.string() + " belongs to uid " + std::to_string(info.st_uid) +
           ", not to this user (uid " + std::to_string(::geteuid()) + ")";
  }
  if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return what + " " + path.string() + " is writable by group or others (mode " +
           octal_mode(info.st_mode) + ")";
  }
  return "";
}

// mkdir -p with mode 0700 for every directory it creates.
bool make_private_directories(const fs::path& path, std::string& error) {
  fs::path prefix;
  for (const auto& part : path) {
    prefix /= part;
    if (part == prefix.root_path() || part.empty()) continue;
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      error = error_text(errno);
      return false;
    }
  }
  return true;
}

enum class Open { ok, missing, refused, failed };

struct Opened {
  Open status = Open::failed;
  Fd fd;
  std::string why;
};

// The cache directory: created (0700) when `create`, followed if it is a symbolic link
// unless that link sits in a world-writable directory, then checked.
Opened open_root(const fs::path& root, bool create) {
  Opened result;
  struct stat link {};
  if (::lstat(root.c_str(), &link) != 0) {
    const int error = errno;
    if (error != ENOENT || !create) {
      result.status = error == ENOENT ? Open::missing : Open::failed;
      result.why = std::string(create ? "cannot create" : "cannot use") + " cache directory " +
                   root.string() + ": " + error_text(error);
      return result;
    }
    std::string why;
    if (!make_private_directories(root, why) || ::lstat(root.c_str(), &link) != 0) {
      if (why.empty()) why = error_text(errno);
      result.why = "cannot create cache directory " + root.string() + ": " + why;
      return result;
    }
  }
  if (S_ISLNK(link.st_mode)) {
    const fs::path parent = root.parent_path().empty() ? fs::path(".") : root.parent_path();
    struct stat holder {};
    if (::stat(parent.c_str(), &holder) != 0 || (holder.st_mode & S_IWOTH) != 0) {
      result.status = Open::refused;
      result.why = "cache directory " + root.string() +
                   " is a symbolic link in a directory anyone can write (" + parent.string() + ")";
      return result;
    }
  }
  result.fd = Fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct stat info {};
  if (!result.fd || ::fstat(result.fd.get(), &info) != 0) {
    result.why = "cannot " + std::string(create ? "create" : "open") + " cache directory " +
                 root.string() + ": " + error_text(errno);
    return result;
  }
  if (std::string why = refusal(info, "cache directory", root); !why.empty()) {
    result.status = Open::refused;
    result.why = std::move(why);
    result.fd.reset();
    return result;
  }
  result.status = Open::ok;
  return result;
}

// The per-function folder inside the root: never followed if it is a link.
Opened open_function_folder(int root_fd, const fs::path& folder, bool create) {
  Opened result;
  const std::string name = folder.filename().string();
  struct stat link {};
  if (::fstatat(root_fd, name.c_str(), &link, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno != ENOENT) {
      result.why = "cannot use cache directory " + folder.string() + ": " + error_text(errno);
      return result;
    }
    if (!create) {
      result.status = Open::missing;
      return result;
    }
    if (::mkdirat(root_fd, name.c_str(), 0700) != 0 && errno != EEXIST) {
      result.why = "cannot create cache directory " + folder.string() + ": " + error_text(errno);
      return result;
    }
  } else if (S_ISLNK(link.st_mode)) {
    result.status = Open::refused;
    result.why = "cache directory " + folder.string() + " is a symbolic link; not followed";
    return result;
  }
  result.fd = Fd(::openat(root_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  struct stat info {};
  if (!result.fd || ::fstat(result.fd.get(), &info) != 0) {
    const int error = errno;
    result.status = error == ELOOP || error == ENOTDIR ? Open::refused : Open::failed;
    result.why = (error == ELOOP ? "cache directory " + folder.string() + " is a symbolic link; not followed"
                                 : "cannot open cache directory " + folder.string() + ": " + error_text(error));
    return result;
  }
  if (std::string why = refusal(info, "cache directory", folder); !why.empty()) {
    result.status = Open::refused;
    result.why = std::move(why);
    result.fd.reset();
    return result;
  }
  // Folders written by format version 1 were 0755: close them to others now.
  if ((info.st_mode & 077) != 0) ::fchmod(result.fd.get(), 0700);
  result.status = Open::ok;
  return result;
}

// Removes the temporaries of writers that are gone: unlocked (a live writer holds its
// flock until commit or abandon) and older than the grace, or older than the maximum
// age where locks do not work.
void sweep_temporaries(int folder_fd) {
  const auto now = std::chrono::system_clock::now();
  for (const std::string& name : names_in(folder_fd)) {
    if (!is_temporary_name(name.c_str())) continue;
    struct stat info {};
    if (::fstatat(folder_fd, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(info.st_mode)) {
      continue;
    }
    const auto age = now - modified(info);
    if (age < DiskCache::kTemporaryGrace) continue;
    Fd fd(::openat(folder_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd) continue;
    bool abandoned = false;
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
      abandoned = true;
    } else if (errno != EWOULDBLOCK) {
      abandoned = age > DiskCache::kTemporaryMaxAge;
    }
    struct stat opened {};
    if (abandoned && ::fstat(fd.get(), &opened) == 0 && opened.st_ino == info.st_ino &&
        opened.st_dev == info.st_dev) {
      ::unlinkat(folder_fd, name.c_str(), 0);
    }
  }
}

}  // namespace

struct DiskCache::Shared {
  std::atomic<bool> refusal_reported{false};
  std::atomic<std::int64_t> next_sweep_ns{0};  // steady clock
};

fs::path default_cache_directory() {
  if (const char* explicit_dir = std::getenv("MEMO_CACHE_DIR"); explicit_dir && *explicit_dir) {
    return explicit_dir;
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "memo";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "memo";
  return "/tmp/memo-cache-" + std::to_string(::geteuid());
}

// ------------------------------------------------------------------------ PendingWrite

DiskCache::PendingWrite::PendingWrite(int folder_fd, int file_fd, std::string temporary,
                                      std::string final_name)
    : folder_fd_(folder_fd),
      file_fd_(file_fd),
      temporary_(std::move(temporary)),
      final_name_(std::move(final_name)) {}

DiskCache::PendingWrite::PendingWrite(PendingWrite&& other) noexcept
    : folder_fd_(std::exchange(other.folder_fd_, -1)),
      file_fd_(std::exchange(other.file_fd_, -1)),
      temporary_(std::move(other.temporary_)),
      final_name_(std::move(other.final_name_)) {}

DiskCache::PendingWrite& DiskCache::PendingWrite::operator=(PendingWrite&& other) noexcept {
  if (this != &other) {
    discard();
    folder_fd_ = std::exchange(other.folder_fd_, -1);
    file_fd_ = std::exchange(other.file_fd_, -1);
    temporary_ = std::move(other.temporary_);
    final_name_ = std::move(other.final_name_);
  }
  return *this;
}

DiskCache::PendingWrite::~PendingWrite() { discard(); }

void DiskCache::PendingWrite::discard() noexcept {
  // Unlink before closing: the lock keeps sweepers away until the name is gone.
  if (file_fd_ >= 0 && folder_fd_ >= 0) ::unlinkat(folder_fd_, temporary_.c_str(), 0);
  if (file_fd_ >= 0) ::close(file_fd_);
  if (folder_fd_ >= 0) ::close(folder_fd_);
  file_fd_ = folder_fd_ = -1;
}

// --------------------------------------------------------------------------- DiskCache

DiskCache::DiskCache(fs::path directory, const Key& function_key, std::uint64_t value_fingerprint,
                     std::optional<std::chrono::nanoseconds> ttl,
                     std::optional<std::size_t> max_entries, Warn warn)
    : root_(std::move(directory)),
      folder_(root_ / function_key.hex()),
      function_key_(function_key),
      value_fingerprint_(value_fingerprint),
      ttl_(ttl),
      max_entries_(max_entries),
      warn_(std::move(warn)),
      shared_(std::make_unique<Shared>()) {}

DiskCache::DiskCache(DiskCache&&) noexcept = default;
DiskCache::~DiskCache() = default;

fs::path DiskCache::file_for(const Key& key) const { return folder_ / (key.hex() + kSuffix); }

void DiskCache::report(const std::string& message) const noexcept {
  if (!warn_) return;
  try {
    warn_(message);
  } catch (...) {
    // A warning sink that throws must not turn a miss into an error.
  }
}

int DiskCache::open_folder(bool create) const {
  Opened root = open_root(root_, create);
  Opened folder;
  if (root.status == Open::ok) folder = open_function_folder(root.fd.get(), folder_, create);
  const Opened& last = root.status == Open::ok ? folder : root;
  if (last.status == Open::ok) {
    shared_->refusal_reported.store(false, std::memory_order_relaxed);  // usable again
    return folder.fd.release();
  }
  if (last.status != Open::missing &&
      !shared_->refusal_reported.exchange(true, std::memory_order_relaxed)) {
    report(last.why + (last.status == Open::refused ? "; refused, the cache carries on in memory"
                                                    : "; the cache carries on in memory"));
  }
  return -1;
}

void DiskCache::sweep_if_due(int folder_fd) const {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
  std::int64_t due = shared_->next_sweep_ns.load(std::memory_order_relaxed);
  if (now < due) return;
  const std::int64_t next = now + std::chrono::nanoseconds(kSweepInterval).count();
  if (!shared_->next_sweep_ns.compare_exchange_strong(due, next, std::memory_order_relaxed)) return;
  sweep_temporaries(folder_fd);
}

void DiskCache::discard(int folder_fd, const std::string& name, std::uint64_t device,
                        std::uint64_t inode, const std::string& why) const {
  // Only remove the file that was read: another process may have renamed a fresh one in.
  struct stat now_there {};
  if (::fstatat(folder_fd, name.c_str(), &now_there, AT_SYMLINK_NOFOLLOW) == 0 &&
      now_there.st_ino == inode && now_there.st_dev == device) {
    ::unlinkat(folder_fd, name.c_str(), 0);
  }
  if (!why.empty()) report(why + " (" + (folder_ / name).string() + "); treated as a miss");
}

std::optional<DiskEntry> DiskCache::load(const Key& key) const {
  try {
    return load_or_throw(key);
  } catch (const std::bad_alloc&) {
    report("not enough memory to read " + file_for(key).string() + "; treated as a miss");
  } catch (const std::exception& error) {
    report("cannot read " + file_for(key).string() + ": " + error.what() + "; treated as a miss");
  } catch (...) {
    report("cannot read " + file_for(key).string() + "; treated as a miss");
  }
  return std::nullopt;
}

std::optional<DiskEntry> DiskCache::load_or_throw(const Key& key) const {
  const Fd folder(open_folder(false));
  if (!folder) return std::nullopt;
  sweep_if_due(folder.get());
  const std::string name = key.hex() + kSuffix;
  const fs::path path = folder_ / name;

  // Look before opening, so a device is never opened; then check what was opened.
  struct stat info {};
  if (::fstatat(folder.get(), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno != ENOENT) report("cannot read " + path.string() + ": " + error_text(errno));
    return std::nullopt;
  }
  const auto refuse = [&](const std::string& what) {
    report(path.string() + " " + what + "; refused, treated as a miss");
    return std::nullopt;
  };
  if (S_ISLNK(info.st_mode)) return refuse("is a symbolic link");
  if (!S_ISREG(info.st_mode)) return refuse("is not a regular file");
  const Fd fd(::openat(folder.get(), name.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ELOOP) return refuse("is a symbolic link");
    if (errno != ENOENT) report("cannot open " + path.string() + ": " + error_text(errno));
    return std::nullopt;
  }
  if (::fstat(fd.get(), &info) != 0) {
    report("cannot read " + path.string() + ": " + error_text(errno));
    return std::nullopt;
  }
  if (!S_ISREG(info.st_mode)) return refuse("is not a regular file");
  if (info.st_uid != ::geteuid()) {
    return refuse("belongs to uid " + std::to_string(info.st_uid) + ", not to this user");
  }
  const auto file_size = static_cast<std::uint64_t>(info.st_size);
  const auto corrupt = [&](const std::string& why) {
    discard(folder.get(), name, info.st_dev, info.st_ino, why);
    return std::nullopt;
  };
  if (file_size < kHeaderSize) return corrupt("memo: cache file is truncated");
  if (const std::uint64_t available = available_memory_bytes();
      available != 0 && file_size - kHeaderSize > available) {
    report(path.string() + " holds " + std::to_string(file_size) + " bytes, more than the " +
           std::to_string(available) + " bytes of memory available; not loaded, treated as a miss");
    return std::nullopt;
  }

  std::byte header_bytes[kHeaderSize];
  std::string error;
  if (!read_all(fd.get(), header_bytes, kHeaderSize, 0, error)) {
    report("cannot read " + path.string() + ": " + error);
    return std::nullopt;
  }
  Header header;
  try {
    header = parse_header(header_bytes, function_key_, key, value_fingerprint_, file_size - kHeaderSize);
  } catch (const CorruptData& bad) {
    return corrupt(bad.what());
  }
  const auto created = from_ns(header.created_ns);
  if (ttl_ && created + std::chrono::duration_cast<std::chrono::system_clock::duration>(*ttl_) <=
                  std::chrono::system_clock::now()) {
    return corrupt("");  // expired: removed without a warning
  }

  // Sizes are now known to add up to the real file size, which fits in memory.
  std::vector<std::byte> messages(static_cast<std::size_t>(header.messages_size));
  Payload payload{allocate_bytes(static_cast<std::size_t>(header.payload_size)),
                  static_cast<std::size_t>(header.payload_size)};
  if (!read_all(fd.get(), messages.data(), messages.size(), kHeaderSize, error) ||
      !read_all(fd.get(), payload.data.get(), payload.size, kHeaderSize + header.messages_size, error)) {
    report("cannot read " + path.string() + ": " + error);
    return std::nullopt;
  }
  if (file_checksum(header_bytes, messages, payload.view()) != header.checksum) {
    return corrupt("memo: cache file checksum mismatch");
  }
  DiskEntry entry;
  try {
    entry.messages = decode_messages(messages);
  } catch (const CorruptData& bad) {
    return corrupt(bad.what());
  }
  entry.payload = std::move(payload);
  entry.created = created;
  ::futimens(fd.get(), nullptr);  // a hit refreshes recency for max_entries
  return entry;
}

std::optional<DiskCache::PendingWrite> DiskCache::prepare(const Key& key,
                                                          std::span<const std::byte> payload,
                                                          const std::vector<std::string>& messages) const {
  try {
    return prepare_or_throw(key, payload, messages);
  } catch (const std::bad_alloc&) {
    report("cannot persist entry to " + file_for(key).string() + ": out of memory");
  } catch (const std::exception& error) {
    report("cannot persist entry to " + file_for(key).string() + ": " + error.what());
  } catch (...) {
    report("cannot persist entry to " + file_for(key).string());
  }
  return std::nullopt;
}

std::optional<DiskCache::PendingWrite> DiskCache::prepare_or_throw(
    const Key& key, std::span<const std::byte> payload, const std::vector<std::string>& messages) const {
  Fd folder(open_folder(true));
  if (!folder) return std::nullopt;
  sweep_if_due(folder.get());
  const std::vector<std::byte> prefix = encode_prefix(
      function_key_, key, value_fingerprint_, std::chrono::system_clock::now(), payload, messages);
  const std::string final_name = key.hex() + kSuffix;
  // Unique per process and call; the leading dot hides it from readers and counts.
  const std::string temporary = "." + key.hex() + "." + std::to_string(::getpid()) + "." +
                                std::to_string(temporary_counter.fetch_add(1)) + kTemporarySuffix;
  Fd file(::openat(folder.get(), temporary.c_str(),
                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!file) {
    report("cannot write " + (folder_ / temporary).string() + ": " + error_text(errno));
    return std::nullopt;
  }
  // From here on the temporary is removed unless it is handed out.
  PendingWrite pending(folder.release(), file.release(), temporary, final_name);
  // Held until commit or abandon: sweeps remove only unlocked temporaries. Where
  // flock is not supported the age rule (kTemporaryMaxAge) protects the write.
  while (::flock(pending.file_fd_, LOCK_EX) != 0 && errno == EINTR) {
  }
  std::string error;
  bool ok = write_all(pending.file_fd_, prefix.data(), prefix.size(), error) &&
            write_all(pending.file_fd_, payload.data(), payload.size(), error);
  if (ok && ::fsync(pending.file_fd_) != 0) {
    error = error_text(errno);
    ok = false;
  }
  if (!ok) {
    report("cannot persist entry to " + file_for(key).string() + ": " + error);
    return std::nullopt;  // `pending` removes the temporary
  }
  return pending;
}

bool DiskCache::commit(PendingWrite&& pending, std::string* failure) const {
  PendingWrite owned(std::move(pending));
  if (owned.file_fd_ < 0) return false;
  if (::renameat(owned.folder_fd_, owned.temporary_.c_str(), owned.folder_fd_,
                 owned.final_name_.c_str()) != 0) {
    const int error = errno;
    try {
      std::string message =
          "cannot persist entry to " + (folder_ / owned.final_name_).string() + ": " + error_text(error);
      if (failure != nullptr) {
        *failure = std::move(message);
      } else {
        report(message);
      }
    } catch (...) {
      // Out of memory for the message: the write still fails cleanly.
    }
    return false;  // `owned` removes the temporary
  }
  ::close(std::exchange(owned.file_fd_, -1));  // releases the lock; the name is gone already
  if (max_entries_) {
    try {
      trim(owned.folder_fd_);
    } catch (...) {
      // Trimming is best effort (it allocates a list); the entry is in place.
    }
  }
  return true;
}

void DiskCache::abandon(PendingWrite&& pending) const noexcept {
  PendingWrite discarded(std::move(pending));
}

bool DiskCache::store(const Key& key, std::span<const std::byte> payload,
                      const std::vector<std::string>& messages) const {
  std::optional<PendingWrite> pending = prepare(key, payload, messages);
  return pending && commit(std::move(*pending));
}

void DiskCache::trim(int folder_fd) const {
  std::vector<std::pair<std::chrono::system_clock::time_point, std::string>> files;
  for (std::string& name : names_in(folder_fd)) {
    struct stat info {};
    if (!is_entry_name(name.c_str()) ||
        ::fstatat(folder_fd, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(info.st_mode)) {
      continue;
    }
    files.emplace_back(modified(info), std::move(name));
  }
  if (files.size() <= *max_entries_) return;
  std::sort(files.begin(), files.end());
  for (std::size_t i = 0; i + *max_entries_ < files.size(); ++i) {
    ::unlinkat(folder_fd, files[i].second.c_str(), 0);
  }
}

void DiskCache::erase(const Key& key) const {
  try {
    const Fd folder(open_folder(false));
    if (folder) ::unlinkat(folder.get(), (key.hex() + kSuffix).c_str(), 0);
  } catch (...) {
    // Out of memory for a path: the file stays, and is a valid entry.
  }
}

void DiskCache::clear() const {
  try {
    const Fd folder(open_folder(false));
    if (!folder) return;
    for (const std::string& name : names_in(folder.get())) {
      if (is_entry_name(name.c_str())) ::unlinkat(folder.get(), name.c_str(), 0);  // not directories
    }
    sweep_temporaries(folder.get());
  } catch (...) {
    // names_in allocates; a clear that cannot list the folder leaves the files.
  }
}

std::size_t DiskCache::count() const {
  try {
    const Fd folder(open_folder(false));
    if (!folder) return 0;
    std::size_t n = 0;
    for (const std::string& name : names_in(folder.get())) {
      struct stat info {};
      n += is_entry_name(name.c_str()) &&
           ::fstatat(folder.get(), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISREG(info.st_mode);
    }
    return n;
  } catch (...) {
    return 0;
  }
}

// ------------------------------------------------------------------ encode / decode

std::vector<std::byte> DiskCache::encode_file(const Key& function_key, const Key& key,
                                              std::uint64_t value_fingerprint,
                                              std::chrono::system_clock::time_point created,
                                              std::span<const std::byte> payload,
                                              const std::vector<std::string>& messages) {
  const std::vector<std::byte> prefix =
      encode_prefix(function_key, key, value_fingerprint, created, payload, messages);
  Writer file(prefix.size() + payload.size());
  file.bytes(prefix.data(), prefix.size());
  file.bytes(payload.data(), payload.size());
  return file.take();
}

DiskEntry DiskCache::decode_file(std::span<const std::byte> bytes, const Key& function_key,
                                 const Key& key, std::uint64_t value_fingerprint) {
  if (bytes.size() < kHeaderSize) {
    // Still name a foreign file as such when it is shorter than a header.
    if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
      throw CorruptData("memo: not a memo cache file (bad magic)");
    }
    throw CorruptData("memo: cache file is truncated");
  }
  const Header header = parse_header(bytes.first(kHeaderSize), function_key, key, value_fingerprint,
                                     bytes.size() - kHeaderSize);
  const auto messages = bytes.subspan(kHeaderSize, header.messages_size);
  const auto payload = bytes.subspan(kHeaderSize + header.messages_size);
  if (file_checksum(bytes.data(), messages, payload) != header.checksum) {
    throw CorruptData("memo: cache file checksum mismatch");
  }
  DiskEntry entry;
  entry.messages = decode_messages(messages);
  entry.created = from_ns(header.created_ns);
  entry.payload = Payload{allocate_bytes(payload.size()), payload.size()};
  copy_bytes(entry.payload.data.get(), payload.data(), payload.size());
  return entry;
}

}  // namespace memo
