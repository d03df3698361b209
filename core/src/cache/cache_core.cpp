#include "cache/cache_core.h"

#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "cache/registry.h"
#include "memo/session.h"

namespace memo::detail {
namespace {

std::atomic<std::uint64_t> next_miss_id{1};

// Warnings raised while this thread holds a shelf's gate (a store or the disk tier
// reporting a problem during a publish or a clear) are queued and reported when the
// DeferredWarnings goes, after the gate: an observer is user code and never runs under
// a memo lock.
struct WarningQueue {
  const void* cache;
  std::vector<std::string> messages;
};
thread_local WarningQueue* deferred_warnings = nullptr;

// Entries a thread's hit slot may keep alive after they leave the cache, until that
// thread's next call. Large payloads are not worth it: their copy dwarfs a refcount.
constexpr std::size_t kSlottableDataBytes = std::size_t{64} << 10;

std::string describe(std::exception_ptr error) {
  try {
    std::rethrow_exception(std::move(error));
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "a non-standard exception";
  }
}

std::unique_ptr<Store> make_checked_store(const CacheSettings& settings,
                                          std::function<void(std::string_view)> warn) {
  StoreConfig config;
  config.max_entries = settings.max_entries;
  config.namespace_key = settings.identity;
  if (settings.ttl) config.ttl = settings.ttl->duration();
  config.warn = std::move(warn);
  config.server = settings.store_url;
  std::unique_ptr<Store> store = make_store(settings.store_name, config);
  if (settings.kind == CacheKind::resource && !store->holds_objects()) {
    throw std::invalid_argument("memo: store '" + settings.store_name +
                                "' keeps only bytes and cannot hold resources (objects cannot "
                                "live in another process); use it with cache_data");
  }
  return store;
}

}  // namespace

const CacheSettings& validated(const CacheSettings& settings) {
  if (settings.ttl && !settings.ttl->valid()) {
    throw std::invalid_argument("memo: cache '" + settings.display_name +
                                "': ttl must be positive (a cache whose entries expire at once "
                                "could never hold anything); leave ttl unset for no expiry");
  }
  if (settings.scope == Scope::session && settings.kind == CacheKind::data) {
    throw std::invalid_argument("memo: cache_data has no session scope");
  }
  return settings;
}

// ---- making a cache ----------------------------------------------------------------

CacheCore::CacheCore(const CacheSettings& settings, CacheCallbacks callbacks)
    : settings_(settings),
      global_shelf_(settings.scope == Scope::global
                        ? std::make_unique<Shelf>(make_checked_store(
                              settings, [this](std::string_view m) { warn(std::string(m)); }))
                        : nullptr),
      shared_store_(global_shelf_ ? dynamic_cast<SharedStore*>(&global_shelf_->store())
                                  : nullptr),
      callbacks_(std::make_shared<const CacheCallbacks>(std::move(callbacks))) {
  if (!global_shelf_) make_checked_store(settings_, {});  // refuse now, not per session
  if (settings_.persist_directory) {
    std::optional<std::chrono::nanoseconds> ttl;
    if (settings_.ttl && !settings_.ttl->never_expires()) ttl = settings_.ttl->duration();
    std::optional<std::size_t> max_entries;
    if (settings_.max_entries != 0) max_entries = settings_.max_entries;
    disk_.emplace(*settings_.persist_directory, settings_.identity, settings_.value_fingerprint,
                  ttl, max_entries, [this](const std::string& message) { warn(message); });
  }
}

CacheCore::~CacheCore() = default;  // only a cache that lost a race to be registered dies

void CacheCore::adopt(CacheCallbacks callbacks) {
  auto fresh = std::make_shared<const CacheCallbacks>(std::move(callbacks));
  std::shared_ptr<const CacheCallbacks> previous;  // dropped unlocked: it may own closures
  std::lock_guard lock(callbacks_mu_);
  previous = std::exchange(callbacks_, std::move(fresh));
}

std::shared_ptr<const CacheCallbacks> CacheCore::callbacks() const {
  std::lock_guard lock(callbacks_mu_);
  return callbacks_;
}

// ---- small helpers -----------------------------------------------------------------

Key CacheCore::scoped(const Key& key) const {
  if (settings_.scope == Scope::global) return key;
  // Session-scoped keys differ per session; each session has its own shelf anyway, and
  // the mix keeps hit slots of two sessions apart.
  const std::uint64_t session = current_session().id();
  return Key{key.lo + session, key.hi ^ (session * 0x9E3779B97F4A7C15ull)};
}

CacheCore::ShelfHold CacheCore::shelf_for_call() {
  if (global_shelf_) return {global_shelf_.get(), nullptr};
  const std::uint64_t session = current_session().id();
  std::lock_guard lock(sessions_mu_);
  auto& shelf = session_shelves_[session];
  if (!shelf) shelf = std::make_shared<Shelf>(make_checked_store(settings_, {}));
  return {shelf.get(), shelf};
}

Clock::time_point CacheCore::now_for_ttl() const {
  // Without a ttl every entry expires `never`, so the clock need not be read.
  return settings_.ttl ? Clock::now() : Clock::time_point::min();
}

Clock::time_point CacheCore::deadline() const {
  if (!settings_.ttl || settings_.ttl->never_expires()) return Entry::never;
  const Clock::time_point now = Clock::now();
  const auto ttl = std::chrono::duration_cast<Clock::duration>(settings_.ttl->duration());
  return ttl >= Entry::never - now ? Entry::never : now + ttl;  // saturating
}

bool CacheCore::store_sees_hits() const {
  // Bounded stores order evictions by use; a shared store is the only truth.
  return settings_.max_entries != 0 || shared_store_ != nullptr;
}

bool CacheCore::budgeted() const {
  return global_shelf_ && (settings_.max_bytes ||
                           ProcessBytes::budget().load(std::memory_order_relaxed) != 0);
}

class CacheCore::DeferredWarnings {
 public:
  explicit DeferredWarnings(const CacheCore& cache)
      : cache_(cache), outer_(deferred_warnings), queue_{&cache, {}} {
    deferred_warnings = &queue_;
  }
  ~DeferredWarnings() {
    deferred_warnings = outer_;
    for (const std::string& message : queue_.messages) cache_.warn(message);
  }
  DeferredWarnings(const DeferredWarnings&) = delete;
  DeferredWarnings& operator=(const DeferredWarnings&) = delete;

 private:
  const CacheCore& cache_;
  WarningQueue* const outer_;
  WarningQueue queue_;
};

void CacheCore::warn(const std::string& message) const noexcept {
  try {
    if (deferred_warnings != nullptr && deferred_warnings->cache == this) {
      deferred_warnings->messages.push_back(message);
      return;
    }
    std::shared_ptr<MissObserver> observer = callbacks()->observer;
    if (!observer) observer = default_observer();
    observer->warning(settings_.display_name, message);
  } catch (...) {
  }
}

void CacheCore::replay(const ValueEntry& entry) const {
  for (const std::string& message : entry.messages()) emit(message);
}

// ---- the hit path ------------------------------------------------------------------

CacheCore::Found CacheCore::lookup(const Key& key, Clock::time_point now, ShelfHold& shelf) {
  HitSlots& slots = HitSlots::mine();
  HitSlot* slot = slots_usable() ? slots.find(this, key) : nullptr;
  if (slot != nullptr && slot->entry->expired(now)) slot = nullptr;  // the store removes it
  if (slot != nullptr && !store_sees_hits()) return {slot->entry.get(), slot->owner};
  if (shelf.shelf == nullptr) shelf = shelf_for_call();
  RemovedList removed;
  std::shared_ptr<const ValueEntry> copy;
  bool slot_is_current = false;
  shelf.shelf->store().visit(key, now, removed, [&](const EntryPtr& entry) {
    if (slot != nullptr && slot->entry.get() == entry.get()) {
      slot_is_current = true;  // no reference taken: the slot holds one
    } else {
      copy = std::static_pointer_cast<const ValueEntry>(entry);
    }
  });
  release(removed);
  if (slot_is_current) return {slot->entry.get(), slot->owner};
  if (!copy) return {};
  const bool slottable = slots_usable() && (settings_.kind == CacheKind::resource ||
                                            copy->bytes() <= kSlottableDataBytes);
  if (slottable && copy->stored()) {
    if (HitSlot* filled = slots.fill(this, key, copy)) return {copy.get(), filled->owner};
  }
  const ValueEntry* raw = copy.get();
  return {raw, std::move(copy)};
}

void CacheCore::hit_done(const Key& key, const ValueEntry& entry) {
  hits_.add();
  if (budgeted()) recency_.hit(key, entry);
  if (!entry.messages().empty()) replay(entry);
}

bool CacheCore::accepted(const ValueEntry& entry, Accept accept) {
  if (!accept) return true;
  try {
    return accept(entry);
  } catch (...) {
    warn("validate threw (" + describe(std::current_exception()) +
         "); the entry is dropped and recomputed");
    return false;
  }
}

void CacheCore::invalidate(Shelf& shelf, const Key& key, const ValueEntry& entry) {
  RemovedList removed;
  if (shelf.store().erase(key, &entry, RemovalCause::erased, removed)) {
    counters_.invalidations.fetch_add(1, std::memory_order_relaxed);
  }
  release(removed);
}

bool CacheCore::get_data(const Key& key, const MissDisplay& display,
                         FunctionRef<void(const Payload&)> read, FunctionRef<Payload()> compute) {
  const Clock::time_point now = now_for_ttl();
  ShelfHold shelf;
  bool use_disk = true;
  // Decodes a found entry for the caller; false (after dropping the entry) when its
  // bytes no longer decode -- written by an older layout of the type.
  auto serve = [&](const ValueEntry& entry) {
    try {
      read(static_cast<const DataEntry&>(entry).payload());
      return true;
    } catch (const CorruptData& corrupt) {
      warn(std::string("a cached value no longer decodes (") + corrupt.what() +
           "); it is dropped and recomputed");
      if (shelf.shelf == nullptr) shelf = shelf_for_call();
      invalidate(*shelf.shelf, key, entry);
      if (disk_) disk_->erase(key);
      if (shared_store_ != nullptr) {
        RemovedList unused;  // a shared store keeps bytes: nothing to release here
        shared_store_->erase(key, nullptr, RemovalCause::erased, unused);
      }
      use_disk = false;
      return false;
    }
  };

  if (Found found = lookup(key, now, shelf); found.entry != nullptr) {
    if (serve(*found.entry)) {
      hit_done(key, *found.entry);
      return false;
    }
  }
  auto build = [&](MessageRecorder& recorder) -> std::shared_ptr<const ValueEntry> {
    Payload payload = compute();
    return std::make_shared<const DataEntry>(deadline(), std::move(payload), recorder.take());
  };
  for (int attempt = 0;; ++attempt) {
    MissResult result = miss(shelf, key, display, {}, build, use_disk);
    if (result.computed_here) return true;
    if (serve(*result.entry)) {
      replay(*result.entry);
      return false;
    }
    if (attempt > 0) throw CorruptData("memo: a freshly computed value does not decode");
  }
}

std::shared_ptr<void> CacheCore::get_object(const Key& unscoped_key, const MissDisplay& display,
                                            FunctionRef<bool(const void*)> accept_object,
                                            FunctionRef<MadeObject()> compute) {
  const Key key = scoped(unscoped_key);
  const Clock::time_point now = now_for_ttl();
  auto object_of = [](const ValueEntry& entry) {
    return static_cast<const ResourceEntry&>(entry).object();
  };
  auto validate = [&](const ValueEntry& entry) { return accept_object(object_of(entry)); };
  Accept accept;
  if (accept_object) accept = validate;

  ShelfHold shelf;
  if (Found found = lookup(key, now, shelf); found.entry != nullptr) {
    if (accepted(*found.entry, accept)) {
      hit_done(key, *found.entry);
      return std::shared_ptr<void>(std::move(found.keep), object_of(*found.entry));
    }
    if (shelf.shelf == nullptr) shelf = shelf_for_call();
    invalidate(*shelf.shelf, key, *found.entry);
  }
  auto build = [&](MessageRecorder& recorder) -> std::shared_ptr<const ValueEntry> {
    MadeObject made = compute();
    return std::make_shared<const ResourceEntry>(deadline(), std::move(made.object), made.bytes,
                                                 recorder.take(), this);
  };
  MissResult result = miss(shelf, key, display, accept, build, false);
  if (!result.computed_here) replay(*result.entry);
  void* object = object_of(*result.entry);
  return std::shared_ptr<void>(std::move(result.entry), object);
}

// ---- the miss path -----------------------------------------------------------------

CacheCore::MissResult CacheCore::miss(ShelfHold& shelf, const Key& key,
                                      const MissDisplay& display, Accept accept, Build build,
                                      bool use_disk) {
  if (shelf.shelf == nullptr) shelf = shelf_for_call();
  Flights::Joined joined = shelf.shelf->flights().join(key, settings_.display_name);
  if (!joined.leads) {
    counters_.coalesced.fetch_add(1, std::memory_order_relaxed);
    EntryPtr entry = joined.run->wait();  // rethrows the leader's exception
    return {std::static_pointer_cast<const ValueEntry>(std::move(entry)), false};
  }
  Leader leader(shelf.shelf->flights(), key, std::move(joined.run));
  try {
    return lead(*shelf.shelf, key, leader, display, accept, build, use_disk);
  } catch (...) {
    leader.fail(std::current_exception());
    throw;
  }
}

CacheCore::MissResult CacheCore::lead(Shelf& shelf, const Key& key, Leader& leader,
                                      const MissDisplay& display, Accept accept, Build build,
                                      bool use_disk) {
  // Read after the run is registered: a clear from now on retires the run, one before
  // shows in the generation.
  const std::uint64_t generation = shelf.generation();
  const Clock::time_point now = now_for_ttl();

  // Another run of this key may have finished between our lookup and our registration.
  RemovedList removed;
  EntryPtr existing = shelf.store().find(key, now, removed);
  release(removed);
  if (existing) {
    auto entry = std::static_pointer_cast<const ValueEntry>(std::move(existing));
    if (accepted(*entry, accept)) {
      leader.finish(entry);
      hits_.add();
      return {std::move(entry), false};
    }
    invalidate(shelf, key, *entry);
  }

  if (use_disk && disk_) {
    if (auto loaded = load_from_disk(key)) {
      Published stored = publish(shelf, key, generation, leader.run(), std::move(loaded), nullptr);
      leader.finish(stored.entry);
      counters_.disk_hits.fetch_add(1, std::memory_order_relaxed);
      return {std::move(stored.entry), false};
    }
  }

  std::unique_ptr<MissLease> lease;
  if (shared_store_ != nullptr) {
    MissTicket ticket = shared_store_->begin_miss(key, now);
    if (ticket.published) {
      auto entry = std::static_pointer_cast<const ValueEntry>(std::move(ticket.published));
      leader.finish(entry);
      hits_.add();
      return {std::move(entry), false};
    }
    lease = std::move(ticket.lease);
  }

  counters_.misses.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<const ValueEntry> entry = run_function(display, build);
  Published stored = publish(shelf, key, generation, leader.run(), entry, lease.get());
  lease.reset();
  if (disk_ && stored.went_in) persist(shelf, key, generation, leader.run(), *entry);
  leader.finish(stored.entry);
  // cache_data: this caller already holds the fresh value, whichever entry is stored.
  // cache_resource: every caller gets the stored object (one object per key); an object
  // that was not stored is this call's, released when its last handle goes.
  const bool computed_here = settings_.kind == CacheKind::data || stored.entry == entry;
  return {computed_here ? std::move(entry) : std::move(stored.entry), computed_here};
}

std::shared_ptr<const ValueEntry> CacheCore::run_function(const MissDisplay& display,
                                                          Build build) {
  // The miss owns its observer until it is done with it: set_default_observer() may
  // replace the default meanwhile (a nested miss may even do so).
  const std::shared_ptr<MissObserver> observer =
      display.observer ? display.observer : default_observer();
  const std::string text = display.spinner.text.empty()
                               ? "Running `" + settings_.display_name + "(...)`."
                               : display.spinner.text;
  const MissEvent event{next_miss_id.fetch_add(1, std::memory_order_relaxed),
                        settings_.display_name, text, display.spinner.show, display.show_time};
  try {
    observer->miss_started(event);
  } catch (...) {
  }
  const auto started = Clock::now();
  std::shared_ptr<const ValueEntry> entry;
  try {
    MessageRecorder recorder;
    entry = build(recorder);
  } catch (...) {
    try {
      observer->miss_finished(event, Clock::now() - started, false);
    } catch (...) {
    }
    throw;
  }
  try {
    observer->miss_finished(event, Clock::now() - started, true);
  } catch (...) {
  }
  return entry;
}

CacheCore::Published CacheCore::publish(Shelf& shelf, const Key& key, std::uint64_t generation,
                                        const Run& run, std::shared_ptr<const ValueEntry> entry,
                                        MissLease* lease) {
  EntryPtr stored;
  RemovedList removed;
  const Clock::time_point now = now_for_ttl();
  const DeferredWarnings after_the_gate(*this);
  const bool published = shelf.publish_if_current(key, generation, run, [&] {
    stored = lease != nullptr ? lease->publish(entry) : shelf.store().insert(key, entry, now, removed);
  });
  if (!published) return {std::move(entry), false};  // cleared or disconnected meanwhile
  const bool went_in = stored == entry;
  if (went_in && shared_store_ == nullptr) {
    entry->mark_stored();
    count_stored(key, *entry);
  }
  release(removed);
  if (went_in && budgeted()) enforce_budgets();
  if (!stored) return {std::move(entry), false};  // a shared store that failed (warned)
  return {std::static_pointer_cast<const ValueEntry>(std::move(stored)), went_in};
}

std::shared_ptr<const ValueEntry> CacheCore::load_from_disk(const Key& key) {
  std::optional<DiskEntry> file;
  try {
    file = disk_->load(key);
  } catch (const std::exception& error) {  // the tier promises not to throw; be sure
    warn(std::string("cannot read the disk cache: ") + error.what() + "; treated as a miss");
  }
  if (!file) return nullptr;
  // The file's age counts against ttl: it expires in memory when it would on disk.
  Clock::time_point expires_at = Entry::never;
  if (settings_.ttl && !settings_.ttl->never_expires()) {
    const auto age = std::chrono::system_clock::now() - file->created;
    const auto left = settings_.ttl->duration() - std::chrono::duration_cast<std::chrono::nanoseconds>(age);
    expires_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(left);
  }
  return std::make_shared<const DataEntry>(expires_at, std::move(file->payload),
                                           std::move(file->messages));
}

void CacheCore::persist(Shelf& shelf, const Key& key, std::uint64_t generation, const Run& run,
                        const ValueEntry& entry) {
  try {
    std::optional<DiskCache::PendingWrite> pending =
        disk_->prepare(key, entry.persistable_bytes(), entry.messages());
    if (!pending) return;
    // The rename happens under the gate and only if no clear intervened, so a clear that
    // returned is never undone by this write.
    const DeferredWarnings after_the_gate(*this);
    const bool committed = shelf.publish_if_current(
        key, generation, run, [&] { disk_->commit(std::move(*pending)); });
    if (!committed) disk_->abandon(std::move(*pending));
  } catch (const std::exception& error) {
    warn(std::string("cannot persist an entry: ") + error.what());
  }
}

// ---- releases and accounting -------------------------------------------------------

void CacheCore::count_stored(const Key& key, const ValueEntry& entry) {
  const auto bytes = static_cast<std::int64_t>(entry.bytes());
  counters_.entries.fetch_add(1, std::memory_order_relaxed);
  counters_.bytes.fetch_add(bytes, std::memory_order_relaxed);
  if (global_shelf_) {
    ProcessBytes::held().fetch_add(bytes, std::memory_order_relaxed);
    if (budgeted()) recency_.inserted(key, entry);
  }
}

void CacheCore::release(RemovedList& removed) {
  if (removed.empty()) return;
  for (Removed& item : removed) {
    const auto& entry = static_cast<const ValueEntry&>(*item.entry);
    // Retired first: from here on no hit slot serves it and no budget record is added
    // for it (budget.h).
    entry.mark_retired();
    HitSlots::retired(entry);
    const auto bytes = static_cast<std::int64_t>(entry.bytes());
    counters_.entries.fetch_sub(1, std::memory_order_relaxed);
    counters_.bytes.fetch_sub(bytes, std::memory_order_relaxed);
    if (global_shelf_) {
      ProcessBytes::held().fetch_sub(bytes, std::memory_order_relaxed);
      recency_.forget(item.key, entry);
    }
    if (item.cause == RemovalCause::evicted) {
      counters_.evictions.fetch_add(1, std::memory_order_relaxed);
    } else if (item.cause == RemovalCause::expired) {
      counters_.expirations.fetch_add(1, std::memory_order_relaxed);
    }
    if (settings_.kind == CacheKind::resource) {
      run_on_release(entry, "an entry " + std::string(to_string(item.cause)));
    }
  }
  removed.clear();  // the store's references go here, with no lock held
}

void CacheCore::run_on_release(const ValueEntry& entry, std::string_view why) noexcept {
  try {
    const std::shared_ptr<const CacheCallbacks> current = callbacks();
    if (!current->on_release) return;
    counters_.releases.fetch_add(1, std::memory_order_relaxed);
    try {
      current->on_release(static_cast<const ResourceEntry&>(entry).object());
    } catch (...) {
      counters_.release_errors.fetch_add(1, std::memory_order_relaxed);
      warn("on_release threw (" + describe(std::current_exception()) + ") for " +
           std::string(why) + "; the other releases go on");
    }
  } catch (...) {  // out of memory while reporting: nothing may escape a destructor
  }
}

void CacheCore::release_unstored(const ResourceEntry& entry) noexcept {
  run_on_release(entry, "an object that was never stored (a clear or disconnect raced with its miss)");
}

std::optional<RecencyTracker::Oldest> CacheCore::oldest_use() const { return recency_.oldest(); }

bool CacheCore::evict_oldest() {
  const auto oldest = recency_.oldest();
  if (!oldest) return false;
  RemovedList removed;
  if (!global_shelf_->store().erase(oldest->key, oldest->entry, RemovalCause::evicted, removed)) {
    // Gone by another path meanwhile; its record is stale.
    recency_.forget(oldest->key, static_cast<const ValueEntry&>(*oldest->entry));
  }
  release(removed);
  return true;
}

void CacheCore::enforce_budgets() {
  while (settings_.max_bytes && counters_.bytes.load(std::memory_order_relaxed) >
                                    static_cast<std::int64_t>(*settings_.max_bytes)) {
    if (!evict_oldest()) break;
  }
  const std::size_t budget = ProcessBytes::budget().load(std::memory_order_relaxed);
  while (budget != 0 &&
         ProcessBytes::held().load(std::memory_order_relaxed) > static_cast<std::int64_t>(budget)) {
    // The globally least recently used entry goes: compare every cache's oldest use.
    CacheCore* victim = nullptr;
    std::uint64_t oldest_tick = UINT64_MAX;
    for (CacheCore* cache : Registry::all()) {
      if (!cache->budgeted()) continue;
      if (auto oldest = cache->oldest_use(); oldest && oldest->tick < oldest_tick) {
        oldest_tick = oldest->tick;
        victim = cache;
      }
    }
    if (victim == nullptr || !victim->evict_oldest()) break;
  }
}

// ---- clearing ----------------------------------------------------------------------

void CacheCore::erase(const Key& unscoped_key) {
  const Key key = scoped(unscoped_key);
  ShelfHold shelf = shelf_for_call();
  RemovedList removed;
  const DeferredWarnings after_the_gate(*this);
  shelf.shelf->erase(key, [&] {
    shelf.shelf->store().erase(key, nullptr, RemovalCause::erased, removed);
    if (disk_) disk_->erase(key);
  });
  release(removed);
}

void CacheCore::clear() {
  RemovedList removed;
  const DeferredWarnings after_the_gate(*this);
  if (global_shelf_) {
    global_shelf_->clear([&] {
      global_shelf_->store().clear(removed);
      if (disk_) disk_->clear();
    });
  } else {
    std::vector<std::shared_ptr<Shelf>> shelves;
    {
      std::lock_guard lock(sessions_mu_);
      for (auto& [session, shelf] : session_shelves_) shelves.push_back(shelf);
    }
    for (auto& shelf : shelves) shelf->clear([&] { shelf->store().clear(removed); });
  }
  release(removed);
}

void CacheCore::drop_session(std::uint64_t session_id) {
  std::shared_ptr<Shelf> shelf;
  {
    std::lock_guard lock(sessions_mu_);
    auto found = session_shelves_.find(session_id);
    if (found == session_shelves_.end()) return;
    shelf = std::move(found->second);
    session_shelves_.erase(found);
  }
  RemovedList removed;
  shelf->close(removed);
  release(removed);
}

CacheStats CacheCore::stats() const {
  CacheStats s;
  s.name = settings_.display_name;
  s.hits = hits_.sum();
  s.misses = counters_.misses.load(std::memory_order_relaxed);
  s.coalesced = counters_.coalesced.load(std::memory_order_relaxed);
  s.evictions = counters_.evictions.load(std::memory_order_relaxed);
  s.expirations = counters_.expirations.load(std::memory_order_relaxed);
  s.invalidations = counters_.invalidations.load(std::memory_order_relaxed);
  s.releases = counters_.releases.load(std::memory_order_relaxed);
  s.release_errors = counters_.release_errors.load(std::memory_order_relaxed);
  s.disk_hits = counters_.disk_hits.load(std::memory_order_relaxed);
  s.entries = counters_.entries.load(std::memory_order_relaxed);
  s.bytes = counters_.bytes.load(std::memory_order_relaxed);
  return s;
}

}  // namespace memo::detail

namespace memo {

// ---- the public surface ------------------------------------------------------------

UntypedCache& UntypedCache::open(const CacheSettings& settings, CacheCallbacks callbacks) {
  return detail::Registry::open(settings, callbacks, [&] {
    return std::make_unique<detail::CacheCore>(detail::validated(settings), callbacks);
  });
}

bool UntypedCache::get_data(const Key& key, const MissDisplay& display,
                            FunctionRef<void(const Payload&)> read, FunctionRef<Payload()> compute) {
  return static_cast<detail::CacheCore*>(this)->get_data(key, display, read, compute);
}

std::shared_ptr<void> UntypedCache::get_object(const Key& key, const MissDisplay& display,
                                               FunctionRef<bool(const void*)> accept,
                                               FunctionRef<MadeObject()> compute) {
  return static_cast<detail::CacheCore*>(this)->get_object(key, display, accept, compute);
}

void UntypedCache::erase(const Key& key) { static_cast<detail::CacheCore*>(this)->erase(key); }
void UntypedCache::clear() { static_cast<detail::CacheCore*>(this)->clear(); }
CacheStats UntypedCache::stats() const { return static_cast<const detail::CacheCore*>(this)->stats(); }
const std::string& UntypedCache::name() const {
  return static_cast<const detail::CacheCore*>(this)->settings().display_name;
}
CacheKind UntypedCache::kind() const {
  return static_cast<const detail::CacheCore*>(this)->settings().kind;
}

std::vector<UntypedCache*> UntypedCache::all() {
  std::vector<UntypedCache*> caches;
  for (detail::CacheCore* core : detail::Registry::all()) caches.push_back(core);
  return caches;
}

}  // namespace memo
