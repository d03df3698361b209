// Options of cache_data and cache_resource: the guide's decorator parameters.
//
// Every option that shapes what is stored (name, version, ttl, max_entries, store,
// scope) is part of the cache's identity: changing one makes a new, empty cache, as
// in Streamlit ("Changes to this value will trigger a new cache to be created").
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <ratio>
#include <string>
#include <type_traits>

#include "memo/observer.h"
#include "memo/store.h"

namespace memo {

enum class Scope { global, session };

// A time to live: any std::chrono duration (`std::chrono::hours(1)`, `0.5s` or
// `std::chrono::duration<double>(0.5)`), or a number of seconds as in Streamlit
// (`ttl=3600`, `ttl=0.5`). A duration too long for std::chrono::nanoseconds (up to and
// including nanoseconds::max()) means the entries never expire. Zero, a negative duration
// or NaN is refused with std::invalid_argument when the cache is made: such a cache could
// never hold anything.
class Ttl {
 public:
  template <class Rep, class Period>
  Ttl(std::chrono::duration<Rep, Period> duration)  // NOLINT: implicit on purpose
      : Ttl(static_cast<long double>(duration.count()) * Period::num / Period::den) {}
  template <class Number>
    requires std::is_arithmetic_v<Number>
  Ttl(Number seconds)  // NOLINT: implicit on purpose
      : Ttl(static_cast<long double>(seconds)) {}

  // The lifetime, saturated: nanoseconds::max() for "never expires".
  std::chrono::nanoseconds duration() const { return duration_; }
  bool never_expires() const { return duration_ == std::chrono::nanoseconds::max(); }
  // Whether the cache may be made with it (positive, not NaN).
  bool valid() const { return valid_; }

  friend bool operator==(const Ttl&, const Ttl&) = default;

 private:
  explicit Ttl(long double seconds) {
    const long double nanoseconds = seconds * 1e9L;
    valid_ = nanoseconds > 0;  // false for NaN too
    if (!valid_) return;
    constexpr auto kMax = static_cast<long double>(std::chrono::nanoseconds::max().count());
    duration_ = nanoseconds >= kMax
                    ? std::chrono::nanoseconds::max()
                    : std::chrono::nanoseconds(static_cast<std::int64_t>(std::ceil(nanoseconds)));
  }

  std::chrono::nanoseconds duration_{0};
  bool valid_ = false;
};

// A byte budget shared by every cache in the process (Streamlit's issue #2911): when the
// payload bytes of all caches exceed it, the least recently used entries go first,
// across caches, with on_release for resources. Empty: no budget. Entries stored
// before a budget is set are tracked from their next use on.
void set_process_byte_budget(std::optional<std::size_t> bytes);
std::optional<std::size_t> process_byte_budget();

// How cache_data hands each caller its own copy (cow.h has the details).
//   serialize: decode the stored bytes into fresh memory (one memcpy per Frame column).
//   cow: Frame results live in a sealed memory file; a hit maps it copy-on-write, so
//        the copy costs page-table work and a write copies only the page it touches.
//        Other result types are stored and copied as with serialize.
enum class Copy { serialize, cow };

// cache_data's persist: none (memory only) or disk (memory, backed by files that
// survive the process and are shared by every process using the same directory).
enum class Persist { none, disk };

// show_spinner: true (default text), false (none), or the text to show.
struct Spinner {
  bool show = true;
  std::string text;
  Spinner(bool enabled = true) : show(enabled) {}  // NOLINT: implicit on purpose
  Spinner(const char* message) : show(true), text(message) {}  // NOLINT
  Spinner(std::string message) : show(true), text(std::move(message)) {}  // NOLINT
};

// Which engine stores the entries: a StoreKind or any name make_store knows.
struct StoreChoice {
  std::string name = "mutex_map";
  StoreChoice() = default;
  StoreChoice(StoreKind kind) : name(to_string(kind)) {}  // NOLINT: implicit on purpose
  StoreChoice(const char* store_name) : name(store_name) {}  // NOLINT
  StoreChoice(std::string store_name) : name(std::move(store_name)) {}  // NOLINT
};

struct DataOptions {
  // The function's identity (Streamlit hashes the source; C++ cannot). Defaults to the
  // callable's type, unique within one build; name it for a cache shared across builds.
  std::string name{};
  // Bump when the function's behaviour changes, to start a fresh cache.
  std::uint64_t version = 0;
  // Entries older than this are recomputed; expiry is lazy (checked on access).
  std::optional<Ttl> ttl{};
  // At most this many entries; the least recently used goes first.
  std::optional<std::size_t> max_entries{};
  // At most this many payload bytes (cache_data: serialized size; cache_resource: what
  // `weigh` says); the least recently used entries go first. Global scope only.
  std::optional<std::size_t> max_bytes{};
  StoreChoice store{};
  // The server of a store shared between processes (the `redis` store), as
  // "redis://[user:password@]host:port/db"; empty: $MEMO_REDIS_URL, else
  // redis://127.0.0.1:6379/0. Part of the cache identity; never printed with credentials.
  std::string store_url{};
  Spinner show_spinner = true;
  bool show_time = false;
  // How each caller gets its own copy; part of the cache identity.
  Copy copy = Copy::serialize;
  // Null: default_observer().
  std::shared_ptr<MissObserver> observer{};
  // Persist::disk keeps entries in files too (disk_cache.h); ttl and max_entries apply.
  Persist persist = Persist::none;
  // Empty: default_cache_directory() ($MEMO_CACHE_DIR, else ~/.cache/memo).
  std::filesystem::path persist_directory{};
};

template <class T>
struct ResourceOptions {
  std::string name{};
  std::uint64_t version = 0;
  std::optional<Ttl> ttl{};
  std::optional<std::size_t> max_entries{};
  std::optional<std::size_t> max_bytes{};
  StoreChoice store{};
  Spinner show_spinner = true;
  bool show_time = false;
  std::shared_ptr<MissObserver> observer{};
  // Called on every hit; false drops the entry (with on_release) and recomputes.
  std::function<bool(const T&)> validate{};
  // Called exactly once for every entry that leaves the cache: eviction, expiry,
  // clear, failed validation, session end. Must be thread safe.
  std::function<void(T&)> on_release{};
  // The resource's size in bytes, for statistics and byte budgets (default: 0).
  std::function<std::size_t(const T&)> weigh{};
  Scope scope = Scope::global;
};

}  // namespace memo
