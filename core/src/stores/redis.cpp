// The Redis store: find, insert, erase, clear and size over the layout and scripts of
// redis_scripts.h. Leases and waiting live in redis_lease.cpp.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <stdexcept>
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include "memo/memory.h"
#include "redis_core.h"
#include "redis_scripts.h"

namespace memo {
namespace detail {
namespace {

using redis::Call;
using redis::Result;
using redis::Status;
namespace scripts = redis_scripts;

const std::string kGlobalGeneration = "memo:clear-all";
constexpr std::string_view kDefaultServer = "redis://127.0.0.1:6379/0";
// Chunks are written with this expiry and given the entry's lifetime when the manifest
// goes in; a writer that dies in between leaves nothing behind for longer.
constexpr std::string_view kChunkSafetyExpiryMs = "900000";
// Entries dropped per pipelined batch during a clear or an eviction.
constexpr std::size_t kDropBatch = 256;
// Past this a ttl means "never" (Redis rejects expiries that overflow its clock).
constexpr long long kLongestExpiryMs = 1LL << 40;

std::string hex64(std::uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

std::string_view text_of(const redisReply* reply) { return redis::as_text(reply); }

bool parse_size(std::string_view text, std::size_t& value) {
  return !text.empty() &&
         std::from_chars(text.data(), text.data() + text.size(), value).ec == std::errc() &&
         std::from_chars(text.data(), text.data() + text.size(), value).ptr == text.data() + text.size();
}

std::string encode_messages(const std::vector<std::string>& messages) {
  std::string out;
  auto put32 = [&](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  put32(static_cast<std::uint32_t>(messages.size()));
  for (const auto& message : messages) {
    put32(static_cast<std::uint32_t>(message.size()));
    out += message;
  }
  return out;
}

bool decode_messages(std::string_view bytes, std::vector<std::string>& messages) {
  auto get32 = [&](std::uint32_t& v) {
    if (bytes.size() < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)])} << (8 * i);
    bytes.remove_prefix(4);
    return true;
  };
  std::uint32_t count = 0;
  if (!get32(count) || count > bytes.size()) return false;
  messages.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint32_t length = 0;
    if (!get32(length) || length > bytes.size()) return false;
    messages.emplace_back(bytes.substr(0, length));
    bytes.remove_prefix(length);
  }
  return bytes.empty();
}

class Checksum {
 public:
  Checksum() { XXH3_64bits_reset(&state_); }
  void add(const void* data, std::size_t size) { XXH3_64bits_update(&state_, data, size); }
  std::string hex() { return hex64(XXH3_64bits_digest(&state_)); }

 private:
  XXH3_state_t state_;
};

std::string checksum_of(std::string_view messages, std::span<const std::byte> payload) {
  Checksum sum;
  sum.add(messages.data(), messages.size());
  sum.add(payload.data(), payload.size());
  return sum.hex();
}

// Fields 0..8 of HMGET g f v n k cs sum msgs data, or of a script's
// {kind, pttl, v, n, k, cs, sum, msgs, data}.
RedisManifest manifest_from(const redisReply* const* fields, long long pttl) {
  RedisManifest manifest;
  manifest.pttl = pttl;
  manifest.version = text_of(fields[0]);
  manifest.size = text_of(fields[1]);
  manifest.chunks = text_of(fields[2]);
  manifest.chunk_bytes = text_of(fields[3]);
  manifest.sum = text_of(fields[4]);
  manifest.messages = text_of(fields[5]);
  manifest.has_data = fields[6]->type == REDIS_REPLY_STRING;
  manifest.data = text_of(fields[6]);
  return manifest;
}

std::string resolve_server(const std::string& configured) {
  if (!configured.empty()) return configured;
  if (const char* env = std::getenv("MEMO_REDIS_URL"); env && *env) return env;
  return std::string(kDefaultServer);
}

std::string ttl_ms(const StoreConfig& config) {
  if (!config.ttl) return "0";
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(*config.ttl).count();
  if (ms <= 0) return "1";
  if (ms >= kLongestExpiryMs) return "0";
  return std::to_string(ms);
}

const ValueEntry* value_of(const Entry& entry) { return dynamic_cast<const ValueEntry*>(&entry); }

}  // namespace

std::string redis_random_token() {
  // Reseeded in a child after fork(): tokens and version ids name a process's writes and
  // leases, so a child must never repeat its parent's sequence.
  struct Source {
    pid_t pid = -1;
    std::mt19937_64 generator;
  };
  thread_local Source source;
  if (source.pid != ::getpid()) {
    source.pid = ::getpid();
    std::random_device device;
    std::seed_seq seed{device(), device(), static_cast<unsigned>(source.pid),
                       static_cast<unsigned>(Clock::now().time_since_epoch().count())};
    source.generator.seed(seed);
  }
  return hex64(source.generator()) + hex64(source.generator());
}

// ---- warnings --------------------------------------------------------------------------

RedisWarner::RedisWarner(std::function<void(std::string_view)> sink, std::string where)
    : sink_(std::move(sink)), where_(std::move(where)) {}

void RedisWarner::warn(std::string_view kind, const std::string& text, bool rate_limited) {
  constexpr auto kQuietPeriod = std::chrono::seconds(5);
  std::size_t suppressed = 0;
  if (rate_limited) {
    std::lock_guard lock(mutex_);
    Recent& recent = recent_[std::string(kind)];
    const auto now = Clock::now();
    if (recent.last != Clock::time_point{} && now - recent.last < kQuietPeriod) {
      ++recent.suppressed;
      return;
    }
    recent.last = now;
    suppressed = std::exchange(recent.suppressed, 0);
  }
  std::string message = "memo: redis store at " + where_ + ": " + text;
  if (suppressed) message += " (" + std::to_string(suppressed) + " similar warnings suppressed)";
  try {
    if (sink_) {
      sink_(message);
    } else {
      std::fprintf(stderr, "%s\n", message.c_str());
    }
  } catch (...) {
    // A sink that throws must not turn a warning into a failure of the cache.
  }
}

// ---- set-up ----------------------------------------------------------------------------

std::string RedisEntryKeys::chunk(std::string_view version, std::size_t index) const {
  std::string name = chunk_prefix;
  name += version;
  name += ':';
  name += std::to_string(index);
  return name;
}

RedisCore::RedisCore(const StoreConfig& config, const RedisStoreOptions& options)
    : config_(config),
      options_(options),
      address_(redis::parse_server_address(resolve_server(config.server))),
      warner_(config.warn, address_.where()),
      namespace_hex_(config.namespace_key.hex()),
      meta_key_("memo:{" + namespace_hex_ + "}:meta"),
      lru_key_("memo:{" + namespace_hex_ + "}:lru"),
      versions_key_("memo:{" + namespace_hex_ + "}:ver"),
      gone_key_("memo:{" + namespace_hex_ + "}:gone"),
      max_entries_text_(std::to_string(config.max_entries)),
      ttl_ms_text_(ttl_ms(config)) {
  if (address_.connect_timeout.count()) options_.connect_timeout = address_.connect_timeout;
  if (address_.command_timeout.count()) options_.command_timeout = address_.command_timeout;
  if (address_.lease.count()) options_.lease = address_.lease;
  if (options_.chunk_bytes == 0 || options_.chunk_bytes > (std::size_t{512} << 20)) {
    throw std::invalid_argument("memo: redis chunk_bytes must be in (0, 512 MiB]");
  }
  if (options_.chunk_window == 0) options_.chunk_window = 1;
  if (options_.lease < std::chrono::milliseconds(30)) options_.lease = std::chrono::milliseconds(30);
  lease_ms_text_ = std::to_string(options_.lease.count());
  redis::ConnectSettings settings;
  settings.connect_timeout = options_.connect_timeout;
  settings.command_timeout = options_.command_timeout;
  settings.user = address_.user;
  settings.password = address_.password;
  settings.db = address_.db;
  router_ = std::make_unique<redis::Router>(address_, settings);
}

RedisCore::~RedisCore() {
  {
    std::lock_guard lock(renew_mutex_);
    stopping_ = true;
  }
  renew_wakeup_.notify_all();
  if (renewer_.joinable()) renewer_.join();
}

RedisEntryKeys RedisCore::keys_for(const Key& key) const {
  RedisEntryKeys keys;
  keys.member = key.hex();
  const std::string tag = "memo:{" + namespace_hex_ + "." + keys.member + "}:";
  keys.manifest = tag + "m";
  keys.lease = tag + "lease";
  keys.channel = tag + "done";
  keys.chunk_prefix = tag + "c:";
  return keys;
}

// ---- failures --------------------------------------------------------------------------

void RedisCore::report(const Result& result, std::string_view operation, std::string_view consequence) {
  std::string kind;
  std::string what;
  switch (result.status) {
    case Status::unreachable:
      kind = "unreachable";
      what = "server unreachable (" + result.error + ")";
      break;
    case Status::timed_out:
      kind = "timeout";
      what = "server did not answer in time (" + result.error + ")";
      break;
    case Status::lost:
      kind = "lost";
      what = "connection lost (" + result.error + ")";
      break;
    case Status::server_error:
      if (result.error.rfind("OOM", 0) == 0) {
        kind = "full";
        what = "server is full (maxmemory reached with a no-eviction policy)";
      } else {
        kind = "server";
        what = "server error (" + result.error + ")";
      }
      break;
    case Status::ok:
      return;
  }
  if (result.transport_failure()) troubled_.store(true, std::memory_order_relaxed);
  warner_.warn(kind, std::string(operation) + ": " + what + "; " + std::string(consequence));
}

void RedisCore::note_success() {
  if (troubled_.load(std::memory_order_relaxed) && troubled_.exchange(false)) {
    warner_.warn("recovered", "server reachable again; the shared cache is back in use", false);
  }
}

// ---- reading ---------------------------------------------------------------------------

std::optional<RedisGenerations> RedisCore::read_generations(std::string_view operation) {
  const Call batch[] = {
      {kGlobalGeneration, {"GET", kGlobalGeneration}},
      {meta_key_, {"2", meta_key_, lru_key_, ""}, &scripts::kFunctionRead},
  };
  auto results = router_->run(batch);
  for (const auto& result : results) {
    if (!result.ok()) {
      report(result, operation, "running without the shared cache");
      return std::nullopt;
    }
  }
  note_success();
  RedisGenerations generations;
  generations.g = redis::is_nil(results[0].reply.get()) ? "0" : std::string(text_of(results[0].reply.get()));
  generations.f = std::string(text_of(results[1].reply.get()));
  return generations;
}

RedisCore::Loaded RedisCore::load(const RedisEntryKeys& keys, const RedisManifest& manifest,
                                  Clock::time_point now, std::string_view operation) {
  Loaded loaded;
  if (manifest.pttl == -2) {  // expired between the reads
    loaded.status = Load::retry;
    return loaded;
  }
  std::size_t size = 0, chunks = 0, chunk_bytes = 0;
  std::vector<std::string> messages;
  std::string why;
  if (!parse_size(manifest.size, size) || !parse_size(manifest.chunks, chunks) ||
      !parse_size(manifest.chunk_bytes, chunk_bytes)) {
    why = "unreadable manifest";
  } else if (chunks == 0 ? (!manifest.has_data || manifest.data.size() != size)
                         : (chunk_bytes == 0 || chunks != (size + chunk_bytes - 1) / chunk_bytes)) {
    why = "manifest sizes disagree";
  } else if (!decode_messages(manifest.messages, messages)) {
    why = "unreadable messages";
  }

  // A genuine value too big for this machine is a miss, not a corrupt value: it stays.
  if (const std::size_t available = available_memory_bytes(); why.empty() && available && size > available) {
    warner_.warn("memory", std::string(operation) + ": a cached value of " + std::to_string(size) +
                               " bytes does not fit in the " + std::to_string(available) +
                               " bytes of memory available; a miss");
    return loaded;
  }
  ByteOwner bytes;
  if (why.empty()) {
    try {
      bytes = allocate_bytes(std::max<std::size_t>(size, 1));
    } catch (const std::bad_alloc&) {
      warner_.warn("memory", std::string(operation) + ": no memory for a cached value of " +
                                 std::to_string(size) + " bytes; a miss");
      return loaded;
    }
  }
  if (why.empty() && chunks == 0) {
    std::memcpy(bytes.get(), manifest.data.data(), size);
  } else if (why.empty()) {
    Result failure;
    auto borrowed = router_->borrow(keys.manifest, failure);
    if (!borrowed.connection) {
      report(failure, operation, "a miss");
      return loaded;
    }
    redis::Connection& connection = *borrowed.connection;
    const std::string version(manifest.version);
    Result outcome;
    outcome.status = Status::ok;
    std::string error;
    std::size_t sent = 0;
    for (std::size_t received = 0; received < chunks && outcome.ok() && why.empty(); ++received) {
      for (; sent < chunks && sent < received + options_.chunk_window; ++sent) {
        const std::string name = keys.chunk(version, sent);
        const std::string_view get[] = {"GET", name};
        if (!connection.send_raw(get, error)) break;
      }
      const std::size_t offset = received * chunk_bytes;
      const std::size_t length = std::min(chunk_bytes, size - offset);
      const auto bulk = connection.broken() ? redis::Connection::Bulk::failed
                                            : connection.read_bulk_into(bytes.get() + offset, length, error);
      switch (bulk) {
        case redis::Connection::Bulk::value:
          break;
        case redis::Connection::Bulk::nil:  // replaced (or expired) since the manifest was read
          loaded.status = Load::retry;
          outcome.status = Status::lost;
          break;
        case redis::Connection::Bulk::error_reply:
          if (error.rfind("MOVED", 0) == 0 || error.rfind("ASK", 0) == 0) {
            router_->topology_changed();
            loaded.status = Load::retry;
          }
          outcome.status = Status::server_error;
          outcome.error = error;
          break;
        case redis::Connection::Bulk::wrong_size:
          why = error;
          break;
        case redis::Connection::Bulk::failed:
          outcome.status = error.find("timed out") != std::string::npos ? Status::timed_out : Status::lost;
          outcome.error = connection.endpoint().text() + ": " + error;
          break;
      }
    }
    const bool complete = outcome.ok() && why.empty();
    if (!complete) connection.abandon();  // replies may still be in flight
    router_->give_back(std::move(borrowed));
    if (loaded.status == Load::retry) return loaded;
    if (!outcome.ok()) {
      report(outcome, operation, "a miss");
      return loaded;
    }
  }
  if (why.empty()) {
    Checksum sum;
    sum.add(manifest.messages.data(), manifest.messages.size());
    sum.add(bytes.get(), size);
    if (sum.hex() != manifest.sum) why = "checksum mismatch";
  }
  if (!why.empty()) {
    loaded.status = Load::corrupt;
    warner_.warn("corrupt",
                 std::string(operation) + ": corrupt value for key " + keys.member + " (" + why +
                     "); dropped, a miss",
                 false);
    // Drop that very version (a writer may have replaced it meanwhile), and its chunks:
    // counted by the manifest when its sizes agree, else found by name.
    const Call drop{keys.manifest, {"1", keys.manifest, "1e300", "0", manifest.version}, &scripts::kDrop};
    router_->run_one(drop);
    const bool counted = chunks && chunk_bytes && chunks == (size + chunk_bytes - 1) / chunk_bytes;
    if (counted) {
      delete_chunks(keys, manifest.version, chunks);
    } else {
      delete_chunks_by_name(keys, manifest.version);
    }
    return loaded;
  }
  const Clock::time_point expires_at =
      manifest.pttl >= 0 ? now + std::chrono::milliseconds(manifest.pttl) : Entry::never;
  loaded.entry = std::make_shared<const DataEntry>(expires_at, Payload{std::move(bytes), size},
                                                   std::move(messages));
  loaded.status = Load::ok;
  return loaded;
}

EntryPtr RedisCore::find(const Key& key, Clock::time_point now) {
  const RedisEntryKeys keys = keys_for(key);
  for (int attempt = 0; attempt < 3; ++attempt) {
    const Call batch[] = {
        {kGlobalGeneration, {"GET", kGlobalGeneration}},
        {meta_key_, {"2", meta_key_, lru_key_, keys.member}, &scripts::kFunctionRead},
        {keys.manifest, {"HMGET", keys.manifest, "g", "f", "v", "n", "k", "cs", "sum", "msgs", "data"}},
        {keys.manifest, {"PTTL", keys.manifest}},
    };
    auto results = router_->run(batch);
    for (const auto& result : results) {
      if (!result.ok()) {
        report(result, "find", "a miss");
        return nullptr;
      }
    }
    note_success();
    const redisReply* global = results[0].reply.get();
    const std::string_view g = redis::is_nil(global) ? std::string_view("0") : text_of(global);
    const std::string_view f = text_of(results[1].reply.get());
    const redisReply* fields = results[2].reply.get();
    if (fields->type != REDIS_REPLY_ARRAY || fields->elements != 9 || redis::is_nil(fields->element[0])) {
      return nullptr;
    }
    if (text_of(fields->element[0]) != g || text_of(fields->element[1]) != f) return nullptr;  // stale
    const RedisManifest manifest = manifest_from(fields->element + 2, results[3].reply->integer);
    Loaded loaded = load(keys, manifest, now, "find");
    if (loaded.status == Load::retry) continue;
    return loaded.entry;
  }
  return nullptr;
}

std::size_t RedisCore::size() {
  const Call global{kGlobalGeneration, {"GET", kGlobalGeneration}};
  Result g = router_->run_one(global);
  if (!g.ok()) {
    report(g, "size", "reporting 0");
    return 0;
  }
  const std::string generation = redis::is_nil(g.reply.get()) ? "0" : std::string(text_of(g.reply.get()));
  const Call count{meta_key_, {"2", meta_key_, lru_key_, generation}, &scripts::kSize};
  Result result = router_->run_one(count);
  if (!result.ok()) {
    report(result, "size", "reporting 0");
    return 0;
  }
  return static_cast<std::size_t>(std::max(0LL, result.reply->integer));
}

// ---- writing ---------------------------------------------------------------------------

std::optional<RedisValue> RedisCore::prepare(const Entry& entry, std::string_view operation) {
  const ValueEntry* value = value_of(entry);
  if (!value) {
    warner_.warn("not_bytes", std::string(operation) +
                                  ": this entry has no serialized form (only cache_data values "
                                  "can be shared); not stored");
    return std::nullopt;
  }
  RedisValue out;
  out.messages = encode_messages(value->messages());
  out.payload = value->persistable_bytes();
  out.sum = checksum_of(out.messages, out.payload);
  out.version = redis_random_token();
  out.chunk_bytes = options_.chunk_bytes;
  out.chunks = out.payload.size() <= options_.inline_bytes
                   ? 0
                   : (out.payload.size() + out.chunk_bytes - 1) / out.chunk_bytes;
  out.size_text = std::to_string(out.payload.size());
  out.chunks_text = std::to_string(out.chunks);
  out.chunk_bytes_text = std::to_string(out.chunk_bytes);
  return out;
}

bool RedisCore::write_chunks(const RedisEntryKeys& keys, const RedisValue& value,
                             std::string_view operation) {
  if (value.chunks == 0) return true;
  Result failure;
  auto borrowed = router_->borrow(keys.manifest, failure);
  if (!borrowed.connection) {
    report(failure, operation, "value not stored");
    return false;
  }
  redis::Connection& connection = *borrowed.connection;
  std::string error;
  Result outcome;
  outcome.status = Status::ok;
  std::size_t sent = 0;
  for (std::size_t acknowledged = 0; acknowledged < value.chunks; ++acknowledged) {
    // After a refusal (a full server) nothing more is sent; what is in flight is read.
    for (; outcome.ok() && sent < value.chunks && sent < acknowledged + options_.chunk_window; ++sent) {
      const std::size_t offset = sent * value.chunk_bytes;
      const auto piece =
          value.payload.subspan(offset, std::min(value.chunk_bytes, value.payload.size() - offset));
      const std::string name = keys.chunk(value.version, sent);
      const std::string_view set[] = {"SET", name,
                                      {reinterpret_cast<const char*>(piece.data()), piece.size()},
                                      "PX", kChunkSafetyExpiryMs};
      if (!connection.send_raw(set, error)) break;
    }
    if (connection.broken() || acknowledged >= sent) break;
    redis::ReplyPtr reply = connection.read(error);
    if (!reply) break;
    if (redis::is_error(reply.get()) && outcome.ok()) {
      outcome.status = Status::server_error;
      outcome.error = redis::describe(reply.get());
      if (outcome.error.rfind("MOVED", 0) == 0 || outcome.error.rfind("ASK", 0) == 0) router_->topology_changed();
    }
  }
  if (connection.broken()) {
    outcome.status = error.find("timed out") != std::string::npos ? Status::timed_out : Status::lost;
    outcome.error = connection.endpoint().text() + ": " + error;
  }
  router_->give_back(std::move(borrowed));
  if (outcome.ok()) return true;
  report(outcome, operation, "value not stored");
  delete_chunks(keys, value.version, value.chunks);
  return false;
}

void RedisCore::delete_chunks(const RedisEntryKeys& keys, std::string_view version, std::size_t chunks) {
  constexpr std::size_t kPerCommand = 512;
  for (std::size_t first = 0; first < chunks; first += kPerCommand) {
    std::vector<std::string> names;
    for (std::size_t i = first; i < std::min(chunks, first + kPerCommand); ++i) {
      names.push_back(keys.chunk(version, i));
    }
    Call unlink{keys.manifest, {"UNLINK"}};
    for (const auto& name : names) unlink.args.push_back(name);
    router_->run_one(unlink);  // best effort: chunks carry a safety expiry anyway
  }
}

void RedisCore::delete_chunks_by_name(const RedisEntryKeys& keys, std::string_view version) {
  if (version.empty()) return;
  const std::string pattern = keys.chunk_prefix + std::string(version) + ":*";
  std::string cursor = "0";
  // SCAN visits the whole keyspace of the entry's node; only a corrupt manifest gets here.
  for (int rounds = 0; rounds < 100000; ++rounds) {
    const Call scan{keys.manifest, {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"}};
    Result result = router_->run_one(scan);
    const redisReply* reply = result.reply.get();
    if (!result.ok() || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) return;
    Call unlink{keys.manifest, {"UNLINK"}};
    for (std::size_t i = 0; i < reply->element[1]->elements; ++i) {
      unlink.args.push_back(text_of(reply->element[1]->element[i]));
    }
    if (unlink.args.size() > 1) router_->run_one(unlink);
    cursor = std::string(text_of(reply->element[0]));
    if (cursor == "0") return;
  }
}

void RedisCore::drop_members(const std::vector<std::string>& members, const std::string& f_bound,
                             const std::string& g_bound) {
  for (std::size_t first = 0; first < members.size(); first += kDropBatch) {
    const std::size_t last = std::min(members.size(), first + kDropBatch);
    std::vector<RedisEntryKeys> keys;
    keys.reserve(last - first);
    for (std::size_t i = first; i < last; ++i) {
      Key key;
      // Members are Key::hex(): 16 hex digits of hi, then of lo.
      const std::string& hex = members[i];
      if (hex.size() != 32 ||
          std::from_chars(hex.data(), hex.data() + 16, key.hi, 16).ec != std::errc() ||
          std::from_chars(hex.data() + 16, hex.data() + 32, key.lo, 16).ec != std::errc()) {
        continue;
      }
      keys.push_back(keys_for(key));
    }
    std::vector<Call> drops;
    drops.reserve(keys.size());
    for (const auto& k : keys) drops.push_back({k.manifest, {"1", k.manifest, f_bound, g_bound, ""}, &scripts::kDrop});
    auto results = router_->run(drops);
    for (std::size_t i = 0; i < results.size(); ++i) {
      const redisReply* reply = results[i].reply.get();
      if (!results[i].ok() || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) continue;
      std::size_t chunks = 0;
      if (parse_size(text_of(reply->element[1]), chunks) && chunks) {
        delete_chunks(keys[i], text_of(reply->element[0]), chunks);
      }
    }
  }
}

std::vector<std::string_view> RedisCore::manifest_args(const RedisValue& value,
                                                       const RedisGenerations& generations) const {
  const std::string_view data =
      value.chunks ? std::string_view()
                   : std::string_view(reinterpret_cast<const char*>(value.payload.data()), value.payload.size());
  return {generations.g,  generations.f,  value.version,  value.size_text, value.chunks_text,
          value.chunk_bytes_text, value.sum, value.messages, data,           ttl_ms_text_};
}

bool RedisCore::admit(const RedisEntryKeys& keys, const RedisGenerations& generations,
                      std::string_view version, std::string_view stamp) {
  const Call call{meta_key_,
                  {"4", meta_key_, lru_key_, versions_key_, gone_key_, generations.f, generations.g,
                   keys.member, max_entries_text_, stamp},
                  &scripts::kAdmit};
  Result result = router_->run_one(call);
  if (!result.ok()) {
    // The entry is in, but not counted: max_entries may be exceeded by it until a later
    // admission trims the set. Still a usable entry.
    report(result, "insert", "the entry is stored but not counted for max_entries");
    return true;
  }
  const redisReply* reply = result.reply.get();
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) return true;
  if (reply->element[0]->integer == 0) {
    // A clear since the write began: the manifest is stale (never served); remove it.
    const Call drop{keys.manifest, {"1", keys.manifest, "1e300", "0", version}, &scripts::kDrop};
    Result dropped = router_->run_one(drop);
    const redisReply* gone = dropped.reply.get();
    std::size_t chunks = 0;
    if (dropped.ok() && gone->type == REDIS_REPLY_ARRAY && gone->elements == 2 &&
        parse_size(text_of(gone->element[1]), chunks) && chunks) {
      delete_chunks(keys, version, chunks);
    }
    return false;
  }
  std::vector<std::string> stale, evicted;
  if (reply->elements >= 3) {
    for (std::size_t i = 0; i < reply->element[1]->elements; ++i) stale.emplace_back(text_of(reply->element[1]->element[i]));
    for (std::size_t i = 0; i < reply->element[2]->elements; ++i) evicted.emplace_back(text_of(reply->element[2]->element[i]));
  }
  if (!stale.empty()) drop_members(stale, "0", generations.g);
  if (!evicted.empty()) drop_members(evicted, "1e300", "0");
  return true;
}

EntryPtr RedisCore::insert(const Key& key, const EntryPtr& entry, Clock::time_point now) {
  auto value = prepare(*entry, "insert");
  if (!value) return entry;
  auto generations = read_generations("insert");
  if (!generations) return entry;
  const RedisEntryKeys keys = keys_for(key);
  if (!write_chunks(keys, *value, "insert")) return entry;
  std::vector<std::string> chunk_names;
  Call call{keys.manifest, {}, &scripts::kInsert};
  const std::string numkeys = std::to_string(1 + value->chunks);
  call.args.push_back(numkeys);
  call.args.push_back(keys.manifest);
  chunk_names.reserve(value->chunks);
  for (std::size_t i = 0; i < value->chunks; ++i) chunk_names.push_back(keys.chunk(value->version, i));
  for (const auto& name : chunk_names) call.args.push_back(name);
  for (auto arg : manifest_args(*value, *generations)) call.args.push_back(arg);
  Result result = router_->run_one(call);
  if (!result.ok()) {
    report(result, "insert", "value not stored");
    delete_chunks(keys, value->version, value->chunks);
    return entry;
  }
  const redisReply* reply = result.reply.get();
  const std::string_view outcome = reply->type == REDIS_REPLY_ARRAY && reply->elements ? text_of(reply->element[0]) : "";
  if (outcome == "exists") {
    delete_chunks(keys, value->version, value->chunks);
    // An insert that meets a live entry counts as a use of it, as a find does.
    const Call touch{meta_key_, {"2", meta_key_, lru_key_, keys.member}, &scripts::kFunctionRead};
    router_->run_one(touch);
    if (reply->elements != 9) return entry;
    const RedisManifest manifest = manifest_from(reply->element + 2, reply->element[1]->integer);
    Loaded loaded = load(keys, manifest, now, "insert");
    return loaded.status == Load::ok ? loaded.entry : entry;
  }
  if (outcome != "stored") {
    warner_.warn("chunks", "insert: the value's chunks expired before its manifest was written; not stored");
    delete_chunks(keys, value->version, value->chunks);
    return entry;
  }
  if (reply->elements != 4) return entry;
  if (std::size_t old_chunks = 0; parse_size(text_of(reply->element[2]), old_chunks) && old_chunks) {
    delete_chunks(keys, text_of(reply->element[1]), old_chunks);
  }
  admit(keys, *generations, value->version, text_of(reply->element[3]));
  return entry;
}

// ---- removing --------------------------------------------------------------------------

bool RedisCore::erase(const Key& key, const Entry* expected) {
  std::string expected_sum;
  if (expected) {
    const ValueEntry* value = value_of(*expected);
    if (!value) return false;  // never stored here
    expected_sum = checksum_of(encode_messages(value->messages()), value->persistable_bytes());
  }
  auto generations = read_generations("erase");
  if (!generations) return false;
  const RedisEntryKeys keys = keys_for(key);
  const Call call{keys.manifest,
                  {"2", keys.manifest, keys.lease, generations->g, generations->f, expected_sum,
                   expected ? "0" : "1", keys.channel},
                  &scripts::kErase};
  Result result = router_->run_one(call);
  if (!result.ok()) {
    report(result, "erase", "the entry may survive in the shared cache");
    return false;
  }
  const redisReply* reply = result.reply.get();
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 4) return false;
  if (std::size_t chunks = 0; parse_size(text_of(reply->element[2]), chunks) && chunks) {
    delete_chunks(keys, text_of(reply->element[1]), chunks);
  }
  if (!redis::is_nil(reply->element[1])) {
    // Not in the erase script: the recency set lives on the function's slot, the manifest
    // on the key's. Conditional on the stamp of the write erased, so that an insert of the
    // key that landed in between keeps being counted (redis_scripts.h).
    const Call forget{meta_key_,
                      {"3", lru_key_, versions_key_, gone_key_, keys.member, text_of(reply->element[3])},
                      &scripts::kForget};
    router_->run_one(forget);
  }
  return reply->element[0]->integer == 1;
}

void RedisCore::clear() {
  const Call call{meta_key_, {"4", meta_key_, lru_key_, versions_key_, gone_key_}, &scripts::kClear};
  Result result = router_->run_one(call);
  if (!result.ok()) {
    report(result, "clear", "other processes may still see the old entries");
    return;
  }
  const redisReply* reply = result.reply.get();
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) return;
  const std::string f = std::to_string(reply->element[0]->integer);
  std::vector<std::string> members;
  for (std::size_t i = 0; i < reply->element[1]->elements; ++i) members.emplace_back(text_of(reply->element[1]->element[i]));
  // Every entry is already stale (its f is below the new one); this frees the bytes.
  drop_members(members, f, "0");
}

void RedisCore::clear_all_namespaces() {
  const Call call{kGlobalGeneration, {"INCR", kGlobalGeneration}};
  Result result = router_->run_one(call);
  if (!result.ok()) report(result, "clear all", "other processes may still see the old entries");
  clear();
}

}  // namespace detail

// ---- the store -------------------------------------------------------------------------

namespace {

class RedisStoreImpl final : public RedisStore {
 public:
  RedisStoreImpl(const StoreConfig& config, const RedisStoreOptions& options)
      : core_(std::make_shared<detail::RedisCore>(config, options)) {}

  EntryPtr find(const Key& key, Clock::time_point now, RemovedList&) override {
    return guarded("find", EntryPtr{}, [&] { return core_->find(key, now); });
  }
  EntryPtr insert(const Key& key, EntryPtr entry, Clock::time_point now, RemovedList&) override {
    return guarded("insert", entry, [&] { return core_->insert(key, entry, now); });
  }
  bool erase(const Key& key, const Entry* expected, RemovalCause, RemovedList&) override {
    return guarded("erase", false, [&] { return core_->erase(key, expected); });
  }
  void clear(RemovedList&) override {
    guarded("clear", 0, [&] {
      core_->clear();
      return 0;
    });
  }
  void clear_all_namespaces() override {
    guarded("clear all", 0, [&] {
      core_->clear_all_namespaces();
      return 0;
    });
  }
  std::size_t size() const override {
    return guarded("size", std::size_t{0}, [&] { return core_->size(); });
  }
  std::string_view name() const override { return "redis"; }
  MissTicket begin_miss(const Key& key, Clock::time_point now) override {
    return guarded("begin_miss", MissTicket{}, [&] { return core_->begin_miss(core_, key, now); });
  }

 private:
  // Store operations never throw for a server problem; anything unexpected on the way
  // (an allocation failure, a malformed reply) is a warning and the degraded result.
  template <class T, class Fn>
  T guarded(std::string_view operation, T fallback, Fn&& fn) const {
    try {
      return fn();
    } catch (const std::exception& error) {
      core_->warner().warn("internal", std::string(operation) + ": " + error.what());
    } catch (...) {
      core_->warner().warn("internal", std::string(operation) + ": unknown exception");
    }
    return fallback;
  }

  std::shared_ptr<detail::RedisCore> core_;
};

}  // namespace

std::unique_ptr<RedisStore> make_redis_store(const StoreConfig& config, const RedisStoreOptions& options) {
  return std::make_unique<RedisStoreImpl>(config, options);
}

std::unique_ptr<Store> make_redis_store(const StoreConfig& config) {
  return make_redis_store(config, RedisStoreOptions{});
}

}  // namespace memo
