#include "memo/disk_cache.h"

#define XXH_STATIC_LINKING_ONLY
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace memo {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'M', 'E', 'M', 'O', 'D', 'S', 'K', '1'};
constexpr std::uint32_t kFormatVersion = 1;
constexpr std::size_t kHeaderSize = 8 + 4 + 4 + 16 + 16 + 8 + 8 + 8 + 8;
constexpr const char* kSuffix = ".memo";

std::atomic<std::uint64_t> temporary_counter{0};

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

std::uint64_t body_checksum(std::span<const std::byte> messages, std::span<const std::byte> payload) {
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
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
  out.put(static_cast<std::int64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(created.time_since_epoch()).count()));
  out.put(static_cast<std::uint64_t>(body.size()));
  out.put(static_cast<std::uint64_t>(payload.size()));
  out.put(body_checksum(body, payload));
  out.bytes(body.data(), body.size());
  return out.take();
}

bool write_all(int fd, const std::byte* data, std::size_t size, std::string& error) {
  while (size > 0) {
    const ssize_t written = ::write(fd, data, std::min<std::size_t>(size, std::size_t{1} << 30));
    if (written < 0) {
      if (errno == EINTR) continue;
      error = std::strerror(errno);
      return false;
    }
    data += written;
    size -= static_cast<std::size_t>(written);
  }
  return true;
}

bool is_entry_file(const fs::directory_entry& item) {
  const std::string name = item.path().filename().string();
  return name.size() > std::strlen(kSuffix) && name[0] != '.' &&
         name.ends_with(kSuffix);
}

}  // namespace

fs::path default_cache_directory() {
  if (const char* explicit_dir = std::getenv("MEMO_CACHE_DIR"); explicit_dir && *explicit_dir) {
    return explicit_dir;
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "memo";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "memo";
  return "/tmp/memo-cache";
}

DiskCache::DiskCache(fs::path directory, const Key& function_key,
                     std::optional<std::chrono::nanoseconds> ttl,
                     std::optional<std::size_t> max_entries, Warn warn)
    : folder_(std::move(directory) / function_key.hex()),
      function_key_(function_key),
      ttl_(ttl),
      max_entries_(max_entries),
      warn_(std::move(warn)) {}

fs::path DiskCache::file_for(const Key& key) const { return folder_ / (key.hex() + kSuffix); }

std::vector<std::byte> DiskCache::encode_file(const Key& function_key, const Key& key,
                                              std::chrono::system_clock::time_point created,
                                              std::span<const std::byte> payload,
                                              const std::vector<std::string>& messages) {
  const std::vector<std::byte> prefix = encode_prefix(function_key, key, created, payload, messages);
  Writer file(prefix.size() + payload.size());
  file.bytes(prefix.data(), prefix.size());
  file.bytes(payload.data(), payload.size());
  return file.take();
}

DiskEntry DiskCache::decode_file(std::span<const std::byte> bytes, const Key& function_key,
                                 const Key& key) {
  std::size_t at = 0;
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    throw CorruptData("memo: not a memo cache file (bad magic)");
  }
  at = sizeof kMagic;
  if (take<std::uint32_t>(bytes, at) != kFormatVersion) {
    throw CorruptData("memo: cache file has a foreign format version");
  }
  if (take<std::uint32_t>(bytes, at) != kHeaderSize) throw CorruptData("memo: cache file header size is wrong");
  if (take<Key>(bytes, at) != function_key) throw CorruptData("memo: cache file belongs to another function");
  if (take<Key>(bytes, at) != key) throw CorruptData("memo: cache file belongs to other arguments");
  const auto created_ns = take<std::int64_t>(bytes, at);
  const auto messages_size = take<std::uint64_t>(bytes, at);
  const auto payload_size = take<std::uint64_t>(bytes, at);
  const auto checksum = take<std::uint64_t>(bytes, at);
  const std::size_t rest = bytes.size() - at;
  if (messages_size > rest || payload_size != rest - messages_size) {
    throw CorruptData("memo: cache file size does not match its header");
  }
  const auto messages = bytes.subspan(at, messages_size);
  const auto payload = bytes.subspan(at + messages_size);
  if (body_checksum(messages, payload) != checksum) throw CorruptData("memo: cache file checksum mismatch");

  DiskEntry entry;
  std::size_t m = 0;
  const auto count = take<std::uint32_t>(messages, m);
  for (std::uint32_t i = 0; i < count; ++i) {
    const auto length = take<std::uint32_t>(messages, m);
    if (length > messages.size() - m) throw CorruptData("memo: cache file message is truncated");
    entry.messages.emplace_back(reinterpret_cast<const char*>(messages.data() + m), length);
    m += length;
  }
  entry.created = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(created_ns)));
  entry.payload = Payload{allocate_bytes(payload.size()), payload.size()};
  copy_bytes(entry.payload.data.get(), payload.data(), payload.size());
  return entry;
}

void DiskCache::discard(const fs::path& file, const std::string& why) const {
  std::error_code ignored;
  fs::remove(file, ignored);
  if (!why.empty() && warn_) warn_(why + " (" + file.string() + "); treated as a miss");
}

std::optional<DiskEntry> DiskCache::load(const Key& key) const {
  const fs::path file = file_for(key);
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT && warn_) warn_("cannot open " + file.string() + ": " + std::strerror(errno));
    return std::nullopt;
  }
  struct stat info {};
  std::vector<std::byte> bytes;
  std::string error;
  if (::fstat(fd, &info) == 0) {
    bytes.resize(static_cast<std::size_t>(info.st_size));
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t got = ::read(fd, bytes.data() + done, bytes.size() - done);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        error = got < 0 ? std::strerror(errno) : "unexpected end of file";
        break;
      }
      done += static_cast<std::size_t>(got);
    }
  } else {
    error = std::strerror(errno);
  }
  // Only act on the file we read: another process may have renamed a fresh one in.
  struct stat now_there {};
  const bool same_file = ::stat(file.c_str(), &now_there) == 0 && now_there.st_ino == info.st_ino;
  if (!error.empty()) {
    ::close(fd);
    if (warn_) warn_("cannot read " + file.string() + ": " + error);
    return std::nullopt;
  }
  try {
    DiskEntry entry = decode_file(bytes, function_key_, key);
    if (ttl_ && entry.created + std::chrono::duration_cast<std::chrono::system_clock::duration>(*ttl_) <=
                    std::chrono::system_clock::now()) {
      ::close(fd);
      if (same_file) discard(file, "");
      return std::nullopt;
    }
    ::futimens(fd, nullptr);  // a hit refreshes recency for max_entries
    ::close(fd);
    return entry;
  } catch (const CorruptData& corrupt) {
    ::close(fd);
    if (same_file) {
      discard(file, corrupt.what());
    } else if (warn_) {
      warn_(std::string(corrupt.what()) + " (" + file.string() + "); treated as a miss");
    }
    return std::nullopt;
  }
}

bool DiskCache::store(const Key& key, std::span<const std::byte> payload,
                      const std::vector<std::string>& messages) const {
  std::error_code ec;
  fs::create_directories(folder_, ec);
  if (ec) {
    if (warn_) warn_("cannot create cache directory " + folder_.string() + ": " + ec.message());
    return false;
  }
  const std::vector<std::byte> prefix =
      encode_prefix(function_key_, key, std::chrono::system_clock::now(), payload, messages);
  const fs::path final_name = file_for(key);
  // Unique per process, thread and call; the leading dot hides it from readers.
  char temporary_name[128];
  std::snprintf(temporary_name, sizeof temporary_name, ".%s.%d.%zu.%llu.tmp", key.hex().c_str(),
                static_cast<int>(::getpid()),
                std::hash<std::thread::id>{}(std::this_thread::get_id()),
                static_cast<unsigned long long>(temporary_counter.fetch_add(1)));
  const fs::path temporary = folder_ / temporary_name;
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (warn_) warn_("cannot write " + temporary.string() + ": " + std::strerror(errno));
    return false;
  }
  std::string error;
  bool ok = write_all(fd, prefix.data(), prefix.size(), error) &&
            write_all(fd, payload.data(), payload.size(), error);
  if (ok && ::fsync(fd) != 0) {
    error = std::strerror(errno);
    ok = false;
  }
  if (::close(fd) != 0 && ok) {
    error = std::strerror(errno);
    ok = false;
  }
  if (ok) {
    fs::rename(temporary, final_name, ec);
    if (ec) {
      error = ec.message();
      ok = false;
    }
  }
  if (!ok) {
    fs::remove(temporary, ec);
    if (warn_) warn_("cannot persist entry to " + final_name.string() + ": " + error);
    return false;
  }
  trim();
  return true;
}

void DiskCache::trim() const {
  if (!max_entries_) return;
  std::vector<std::pair<fs::file_time_type, fs::path>> files;
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(folder_, ec)) {
    if (!is_entry_file(item)) continue;
    std::error_code time_error;
    const auto time = item.last_write_time(time_error);
    if (!time_error) files.emplace_back(time, item.path());
  }
  if (files.size() <= *max_entries_) return;
  std::sort(files.begin(), files.end());
  for (std::size_t i = 0; i + *max_entries_ < files.size(); ++i) fs::remove(files[i].second, ec);
}

void DiskCache::erase(const Key& key) const {
  std::error_code ignored;
  fs::remove(file_for(key), ignored);
}

void DiskCache::clear() const {
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(folder_, ec)) {
    std::error_code ignored;
    fs::remove(item.path(), ignored);
  }
}

std::size_t DiskCache::count() const {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(folder_, ec)) n += is_entry_file(item) ? 1 : 0;
  return n;
}

}  // namespace memo
