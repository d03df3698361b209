// Single flight across processes for the Redis store: begin_miss() takes a key's lease
// or waits for it, the lease is renewed in the background while its holder computes,
// and publish() stores the value only while the lease is still the holder's.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <thread>

#include "redis_core.h"
#include "redis_scripts.h"

namespace memo::detail {
namespace {

using redis::Call;
using redis::Result;
using redis::Status;
namespace scripts = redis_scripts;

std::string_view text_of(const redisReply* reply) { return redis::as_text(reply); }

class RedisMissLease final : public MissLease {
 public:
  RedisMissLease(std::shared_ptr<RedisCore> core, RedisEntryKeys keys, std::string token,
                 RedisGenerations generations)
      : core_(std::move(core)),
        keys_(std::move(keys)),
        token_(std::move(token)),
        generations_(std::move(generations)),
        hold_(core_->hold_lease(keys_, token_)) {}

  ~RedisMissLease() override {
    core_->unhold_lease(hold_);
    if (!finished_) {
      try {
        core_->release(keys_, token_);
      } catch (...) {
        // Best effort: an unreleased lease lapses by itself.
      }
    }
  }

  EntryPtr publish(EntryPtr entry) override {
    if (finished_) return entry;
    try {
      EntryPtr stored = core_->publish(keys_, generations_, token_, entry);
      finished_ = true;  // publish() released the lease whatever happened
      core_->unhold_lease(hold_);
      return stored;
    } catch (const std::exception& error) {
      core_->warner().warn("internal", std::string("publish: ") + error.what());
    } catch (...) {
      core_->warner().warn("internal", "publish: unknown exception");
    }
    return entry;
  }

 private:
  const std::shared_ptr<RedisCore> core_;
  const RedisEntryKeys keys_;
  const std::string token_;
  const RedisGenerations generations_;
  const std::uint64_t hold_;
  bool finished_ = false;
};

}  // namespace

// ---- the renewer -----------------------------------------------------------------------

std::uint64_t RedisCore::hold_lease(const RedisEntryKeys& keys, const std::string& token) {
  std::lock_guard lock(renew_mutex_);
  const std::uint64_t id = next_hold_++;
  held_.emplace(id, HeldLease{keys.manifest, keys.lease, token, Clock::now()});
  if (!renewer_.joinable()) renewer_ = std::thread([this] { renew_loop(); });
  return id;
}

void RedisCore::unhold_lease(std::uint64_t id) {
  std::lock_guard lock(renew_mutex_);
  held_.erase(id);
}

void RedisCore::renew_loop() {
  const auto period = options_.lease / 3;
  std::unique_lock lock(renew_mutex_);
  while (!stopping_) {
    renew_wakeup_.wait_for(lock, period, [&] { return stopping_; });
    if (stopping_ || held_.empty()) continue;
    std::vector<std::pair<std::uint64_t, HeldLease>> snapshot;
    for (const auto& [id, lease] : held_) {
      if (!lease.lost) snapshot.emplace_back(id, lease);
    }
    if (snapshot.empty()) continue;  // only leases found gone, waiting for their publish()
    lock.unlock();
    std::vector<Call> batch;
    batch.reserve(snapshot.size());
    for (const auto& [id, lease] : snapshot) {
      batch.push_back({lease.route, {"1", lease.lease_key, lease.token, lease_ms_text_}, &scripts::kRenew});
    }
    const Clock::time_point sent = Clock::now();
    const std::vector<Result> results = router_->run(batch);
    const Clock::time_point answered = Clock::now();
    const Result* failed = nullptr;
    std::size_t lapsed = 0;
    auto longest_gap = Clock::duration::zero();
    lock.lock();
    for (std::size_t i = 0; i < results.size() && i < snapshot.size() && !failed; ++i) {
      if (!results[i].ok()) {
        failed = &results[i];  // transport trouble: the lease is tried again next period
        continue;
      }
      const auto held = held_.find(snapshot[i].first);
      if (held == held_.end()) continue;  // published or dropped meanwhile
      const redisReply* reply = results[i].reply.get();
      if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
        held->second.extended_at = sent;
        continue;
      }
      // Gone: an erase took it (clear(args) during the computation: expected, silent), or
      // it lapsed because this renewal reached the server a whole lease after the last
      // extension (a stalled process or a slow server). Either way publish() will not
      // store; a lapse is worth a warning, since it costs a second computation elsewhere.
      held->second.lost = true;
      const auto gap = answered - held->second.extended_at;
      if (gap >= options_.lease) {
        ++lapsed;
        longest_gap = std::max(longest_gap, gap);
      }
    }
    lock.unlock();  // warnings go to the user's sink, outside every lock
    if (failed) report(*failed, "lease renewal", "another process may take over this computation");
    if (lapsed) {
      const auto gap_ms = std::chrono::duration_cast<std::chrono::milliseconds>(longest_gap).count();
      warner_.warn("lease", std::to_string(lapsed) + " lease(s) lapsed before their renewal reached the server (" +
                                std::to_string(gap_ms) + " ms after the last extension, lease " + lease_ms_text_ +
                                " ms): another process may compute the same value, and this one's result is "
                                "not stored; a busy server or process needs a longer lease (lease_ms)");
    }
    lock.lock();
  }
}

// ---- publish and release ---------------------------------------------------------------

void RedisCore::release(const RedisEntryKeys& keys, const std::string& token) {
  const Call call{keys.lease, {"1", keys.lease, token, keys.channel}, &scripts::kRelease};
  Result result = router_->run_one(call);
  if (!result.ok()) report(result, "release", "waiting processes take over when the lease lapses");
}

EntryPtr RedisCore::publish(const RedisEntryKeys& keys, const RedisGenerations& generations,
                            const std::string& token, const EntryPtr& entry) {
  auto value = prepare(*entry, "publish");
  if (!value || !write_chunks(keys, *value, "publish")) {
    release(keys, token);
    return entry;
  }
  std::vector<std::string> chunk_names;
  chunk_names.reserve(value->chunks);
  for (std::size_t i = 0; i < value->chunks; ++i) chunk_names.push_back(keys.chunk(value->version, i));
  const std::string numkeys = std::to_string(2 + value->chunks);
  Call call{keys.manifest, {numkeys, keys.manifest, keys.lease}, &scripts::kPublish};
  for (const auto& name : chunk_names) call.args.push_back(name);
  for (auto arg : manifest_args(*value, generations)) call.args.push_back(arg);
  call.args.push_back(token);
  call.args.push_back(keys.channel);
  Result result = router_->run_one(call);
  if (!result.ok()) {
    report(result, "publish", "value not stored");
    delete_chunks(keys, value->version, value->chunks);
    release(keys, token);
    return entry;
  }
  const redisReply* reply = result.reply.get();
  const std::string_view outcome =
      reply->type == REDIS_REPLY_ARRAY && reply->elements ? text_of(reply->element[0]) : "";
  if (outcome != "stored") {
    // lost: an erase took the lease (or it lapsed and another process holds it);
    // exists: a value as new is already there; chunks_lost: they expired meanwhile.
    delete_chunks(keys, value->version, value->chunks);
    if (outcome == "chunks_lost") {
      warner_.warn("chunks", "publish: the value's chunks expired before its manifest was written; not stored");
      release(keys, token);
    }
    return entry;
  }
  if (reply->elements != 4) return entry;
  if (std::size_t old_chunks = 0; !redis::is_nil(reply->element[2]) &&
                                  std::from_chars(reply->element[2]->str, reply->element[2]->str + reply->element[2]->len, old_chunks).ec == std::errc() &&
                                  old_chunks) {
    delete_chunks(keys, text_of(reply->element[1]), old_chunks);
  }
  admit(keys, generations, value->version, text_of(reply->element[3]));
  return entry;
}

// ---- begin_miss ------------------------------------------------------------------------

bool RedisCore::wait_for_wakeup(redis::Connection& subscriber, std::chrono::milliseconds timeout) {
  // Any message on the channel (published, released, erased) or the lease's time running
  // out sends the caller back to look; only a failed connection returns false.
  if (!subscriber.wait_readable(timeout)) return true;
  std::string error;
  return subscriber.read(error) != nullptr;
}

MissTicket RedisCore::begin_miss(const std::shared_ptr<RedisCore>& self, const Key& key, Clock::time_point now) {
  const RedisEntryKeys keys = keys_for(key);
  const std::string token = redis_random_token();
  std::unique_ptr<redis::Connection> subscriber;
  for (;;) {
    auto generations = read_generations("begin_miss");
    if (!generations) return {};
    const Call acquire{keys.manifest,
                       {"2", keys.manifest, keys.lease, generations->g, generations->f, token, lease_ms_text_},
                       &scripts::kAcquire};
    Result result = router_->run_one(acquire);
    if (!result.ok()) {
      report(result, "begin_miss", "computing without coordination");
      return {};
    }
    const redisReply* reply = result.reply.get();
    const std::string_view outcome =
        reply->type == REDIS_REPLY_ARRAY && reply->elements ? text_of(reply->element[0]) : "";
    if (outcome == "lease") {
      MissTicket ticket;
      ticket.lease = std::make_unique<RedisMissLease>(self, keys, token, std::move(*generations));
      return ticket;
    }
    if (outcome == "hit" && reply->elements == 9) {
      RedisManifest manifest;
      manifest.pttl = reply->element[1]->integer;
      manifest.version = text_of(reply->element[2]);
      manifest.size = text_of(reply->element[3]);
      manifest.chunks = text_of(reply->element[4]);
      manifest.chunk_bytes = text_of(reply->element[5]);
      manifest.sum = text_of(reply->element[6]);
      manifest.messages = text_of(reply->element[7]);
      manifest.has_data = reply->element[8]->type == REDIS_REPLY_STRING;
      manifest.data = text_of(reply->element[8]);
      Loaded loaded = load(keys, manifest, now, "begin_miss");
      if (loaded.status == Load::ok) return MissTicket{loaded.entry, nullptr};
      if (loaded.status == Load::failed) return {};
      continue;  // replaced meanwhile, or corrupt and dropped: look again
    }
    if (outcome != "wait" || reply->elements != 2) {
      warner_.warn("protocol", "begin_miss: unexpected reply from the lease script; computing without coordination");
      return {};
    }
    // Another process computes. Subscribe first, then look again before sleeping, so a
    // wake-up sent in between is never missed.
    const auto lease_left = std::chrono::milliseconds(std::max<long long>(reply->element[1]->integer, 0));
    if (!subscriber) {
      Result failure;
      subscriber = router_->dedicated(keys.channel, failure);
      std::string error;
      const std::string_view subscribe[] = {"SSUBSCRIBE", keys.channel};
      redis::ReplyPtr confirmed = subscriber ? subscriber->command(subscribe, error) : nullptr;
      if (!confirmed || redis::is_error(confirmed.get())) {
        if (confirmed && redis::as_text(confirmed.get()).rfind("MOVED", 0) == 0) router_->topology_changed();
        if (subscriber) {
          failure.status = confirmed ? Status::server_error : Status::lost;
          failure.error = confirmed ? redis::describe(confirmed.get()) : error;
        }
        report(failure, "begin_miss", "waiting by polling the lease");
        subscriber.reset();
        std::this_thread::sleep_for(std::clamp(lease_left, std::chrono::milliseconds(5),
                                               std::chrono::milliseconds(100)));
      }
      continue;
    }
    // Bounded by the lease's remaining time: a holder that died is noticed when it lapses.
    const auto timeout = std::min(lease_left + std::chrono::milliseconds(10),
                                  options_.lease + std::chrono::milliseconds(100));
    if (!wait_for_wakeup(*subscriber, timeout)) subscriber.reset();
  }
}

}  // namespace memo::detail
