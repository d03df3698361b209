#include "memo/detail/cache_core.h"

#include <atomic>
#include <exception>
#include <mutex>

#include "memo/session.h"
#include "session_internal.h"

namespace memo::detail {
namespace {

struct Registry {
  std::mutex mu;
  std::unordered_map<Key, std::weak_ptr<CacheCore>, KeyHash> by_identity;  // guarded by mu
};

Registry& registry() {
  static Registry* instance = new Registry();  // leaked: caches may die during exit
  return *instance;
}

std::atomic<std::uint64_t> next_miss_id{1};

// Payload bytes stored by every cache, and the process-wide budget (0 = none).
std::atomic<std::int64_t> process_bytes{0};
std::atomic<std::size_t> process_budget{0};

std::string describe(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "a non-standard exception";
  }
}

}  // namespace

std::shared_ptr<CacheCore> CacheCore::open(CoreSettings settings) {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  auto found = r.by_identity.find(settings.function_key);
  if (found != r.by_identity.end()) {
    if (auto live = found->second.lock()) return live;
  }
  std::erase_if(r.by_identity, [](const auto& item) { return item.second.expired(); });
  const Key identity = settings.function_key;
  auto core = std::make_shared<CacheCore>(std::move(settings));
  r.by_identity[identity] = core;
  return core;
}

std::vector<std::shared_ptr<CacheCore>> CacheCore::all(CacheKind kind) {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  std::vector<std::shared_ptr<CacheCore>> live;
  for (auto& [identity, weak] : r.by_identity) {
    if (auto core = weak.lock(); core && core->kind() == kind) live.push_back(std::move(core));
  }
  return live;
}

CacheCore::CacheCore(CoreSettings settings)
    : settings_(std::move(settings)),
      global_store_(settings_.scope == Scope::global
                        ? std::shared_ptr<Store>(make_store(settings_.store_name,
                                                            settings_.store_config))
                        : nullptr) {
  const auto probe = global_store_ ? global_store_
                                   : std::shared_ptr<Store>(make_store(settings_.store_name,
                                                                       settings_.store_config));
  if (settings_.kind == CacheKind::resource && !probe->holds_objects()) {
    throw std::invalid_argument("memo: store '" + settings_.store_name +
                                "' keeps only bytes and cannot hold resources; use it with "
                                "cache_data");
  }
  if (settings_.scope == Scope::session) {
    register_session_cache(this);
  }
  if (settings_.persist_directory) {
    disk_.emplace(*settings_.persist_directory, settings_.function_key, settings_.ttl,
                  settings_.store_config.max_entries == 0
                      ? std::nullopt
                      : std::optional<std::size_t>(settings_.store_config.max_entries),
                  [this](const std::string& message) { warn(message); });
  }
}

CacheCore::~CacheCore() {
  if (settings_.scope == Scope::session) unregister_session_cache(this);
  // The last handle is gone; nobody can be inside get(). Release what is left in
  // memory; persisted files stay for the next process.
  try {
    clear_memory();
  } catch (...) {
    // clear() reports release errors itself; nothing may escape a destructor.
  }
}

Key CacheCore::scoped(const Key& key) const {
  if (settings_.scope == Scope::global) return key;
  // Session-scoped keys differ per session, so single-flight is per session too.
  Key mixed = key;
  mixed.hi ^= current_session().id() * 0x9E3779B97F4A7C15ull;
  mixed.lo += current_session().id();
  return mixed;
}

std::shared_ptr<Store> CacheCore::store_for_current_session() {
  if (global_store_) return global_store_;
  const std::uint64_t session = current_session().id();
  {
    std::shared_lock lock(sessions_mu_);
    auto found = session_stores_.find(session);
    if (found != session_stores_.end()) return found->second;
  }
  std::unique_lock lock(sessions_mu_);
  auto& store = session_stores_[session];
  if (!store) store = make_store(settings_.store_name, settings_.store_config);
  return store;
}

CacheCore::Result CacheCore::get(const Key& unscoped_key, FunctionRef<bool(const Entry&)> accept,
                                 FunctionRef<EntryPtr(Clock::time_point)> compute) {
  const Key key = scoped(unscoped_key);
  const std::shared_ptr<Store> store_handle = store_for_current_session();
  Store& store = *store_handle;
  // Without a ttl every entry expires `never`, so the clock need not be read.
  const Clock::time_point now = settings_.ttl ? Clock::now() : Clock::time_point::min();
  RemovedList removed;
  EntryPtr entry = store.find(key, now, removed);
  if (!removed.empty()) release(removed);
  if (entry && accepted(*entry, accept)) {
    counters_.hits.fetch_add(1, std::memory_order_relaxed);
    if (budgeted()) track_use(key, *entry);
    replay(*entry);
    return {std::move(entry), false};
  }
  if (entry) {  // validate said no: drop this very entry, then recompute
    if (store.erase(key, entry.get(), RemovalCause::erased, removed)) {
      counters_.invalidations.fetch_add(1, std::memory_order_relaxed);
    }
    release(removed);
  }
  return compute_once(store, key, now, accept, compute);
}

bool CacheCore::accepted(const Entry& entry, FunctionRef<bool(const Entry&)> accept) {
  if (!accept) return true;
  try {
    return accept(entry);
  } catch (...) {
    warn("validate threw (" + describe(std::current_exception()) +
         "); the entry is dropped and recomputed");
    return false;
  }
}

CacheCore::Result CacheCore::compute_once(Store& store, const Key& key, Clock::time_point now,
                                          FunctionRef<bool(const Entry&)> accept,
                                          FunctionRef<EntryPtr(Clock::time_point)> compute) {
  std::shared_ptr<Flight> flight;
  {
    std::unique_lock lock(flights_mu_);
    auto found = flights_.find(key);
    if (found != flights_.end()) {
      if (found->second->owner == std::this_thread::get_id()) {
        throw RecursiveCallError("memo: cached function '" + settings_.display_name +
                                 "' called itself with the same arguments while computing "
                                 "them; this would wait on itself forever");
      }
      std::shared_future<EntryPtr> result = found->second->result;
      lock.unlock();
      counters_.coalesced.fetch_add(1, std::memory_order_relaxed);
      EntryPtr entry = result.get();  // rethrows the computing caller's exception
      replay(*entry);
      return {std::move(entry), false};
    }
    flight = std::make_shared<Flight>();
    flight->owner = std::this_thread::get_id();
    flight->generation = generation_.load(std::memory_order_acquire);
    flight->result = flight->promise.get_future().share();
    flights_.emplace(key, flight);
  }

  // A flight for this key may have finished between our find() and registering ours.
  RemovedList removed;
  EntryPtr existing = store.find(key, now, removed);
  release(removed);
  if (existing && accepted(*existing, accept)) {
    flight->promise.set_value(existing);
    finish_flight(key, *flight);
    counters_.hits.fetch_add(1, std::memory_order_relaxed);
    replay(*existing);
    return {std::move(existing), false};
  }
  if (existing && store.erase(key, existing.get(), RemovalCause::erased, removed)) {
    counters_.invalidations.fetch_add(1, std::memory_order_relaxed);
    release(removed);
  }

  if (disk_) {
    if (auto loaded = load_from_disk(store, key, now)) {
      flight->promise.set_value(loaded->entry);
      finish_flight(key, *flight);
      return *loaded;
    }
  }

  EntryPtr entry;
  try {
    entry = run_miss(store, key, now, *flight, compute);
  } catch (...) {
    flight->promise.set_exception(std::current_exception());
    finish_flight(key, *flight);
    throw;
  }
  flight->promise.set_value(entry);
  finish_flight(key, *flight);
  if (disk_ && !flight->retired.load(std::memory_order_acquire)) {
    persist(key, *entry, flight->generation);
  }
  return {std::move(entry), true};
}

std::optional<CacheCore::Result> CacheCore::load_from_disk(Store& store, const Key& key,
                                                           Clock::time_point now) {
  std::optional<DiskEntry> file = disk_->load(key);
  if (!file) return std::nullopt;
  // The file's age counts against ttl: it expires in memory when it would on disk.
  Clock::time_point expires_at = Entry::never;
  if (settings_.ttl) {
    const auto age = std::chrono::system_clock::now() - file->created;
    expires_at = Clock::now() + (*settings_.ttl - std::chrono::duration_cast<Clock::duration>(age));
  }
  EntryPtr entry = settings_.from_disk(std::move(*file), expires_at);
  EntryPtr stored = store_new(store, key, entry, now);
  counters_.disk_hits.fetch_add(1, std::memory_order_relaxed);
  replay(*stored);
  return Result{std::move(stored), false};
}

EntryPtr CacheCore::store_new(Store& store, const Key& key, const EntryPtr& entry,
                              Clock::time_point now) {
  RemovedList removed;
  EntryPtr stored = store.insert(key, entry, now == Clock::time_point::min() ? now : Clock::now(),
                                 removed);
  if (stored == entry) count_stored(*entry);
  release(removed);
  if (stored == entry && budgeted()) {
    track_use(key, *entry);
    enforce_budgets();
  }
  return stored;
}

void CacheCore::persist(const Key& key, const Entry& entry, std::uint64_t generation) {
  if (generation_.load(std::memory_order_acquire) != generation) return;  // cleared meanwhile
  const auto& value = static_cast<const ValueEntry&>(entry);
  disk_->store(key, value.persistable_bytes(), value.messages());
}

EntryPtr CacheCore::run_miss(Store& store, const Key& key, Clock::time_point now,
                             Flight& flight, FunctionRef<EntryPtr(Clock::time_point)> compute) {
  counters_.misses.fetch_add(1, std::memory_order_relaxed);
  const std::string text = settings_.spinner.text.empty()
                               ? "Running `" + settings_.display_name + "(...)`."
                               : settings_.spinner.text;
  const MissEvent event{next_miss_id.fetch_add(1, std::memory_order_relaxed),
                        settings_.display_name, text, settings_.spinner.show,
                        settings_.show_time};
  MissObserver& watcher = observer();
  try {
    watcher.miss_started(event);
  } catch (...) {
  }
  const auto started = Clock::now();
  const Clock::time_point expires_at =
      settings_.ttl ? Clock::now() + *settings_.ttl : Entry::never;
  EntryPtr entry;
  try {
    entry = compute(expires_at);
  } catch (...) {
    try {
      watcher.miss_finished(event, Clock::now() - started, false);
    } catch (...) {
    }
    throw;
  }
  try {
    watcher.miss_finished(event, Clock::now() - started, true);
  } catch (...) {
  }

  if (flight.retired.load(std::memory_order_acquire) ||
      generation_.load(std::memory_order_acquire) != flight.generation) {
    return entry;  // cleared while computing: hand the value out, store nothing
  }
  EntryPtr stored = store_new(store, key, entry, now);
  return stored;
}

void CacheCore::count_stored(const Entry& entry) {
  counters_.entries.fetch_add(1, std::memory_order_relaxed);
  counters_.bytes.fetch_add(static_cast<std::int64_t>(entry.bytes()), std::memory_order_relaxed);
  process_bytes.fetch_add(static_cast<std::int64_t>(entry.bytes()), std::memory_order_relaxed);
}

bool CacheCore::budgeted() const {
  // Session-scoped caches keep one store per session; budgets apply to global caches.
  return global_store_ &&
         (settings_.max_bytes || process_budget.load(std::memory_order_relaxed) != 0);
}

void CacheCore::track_use(const Key& key, const Entry& entry) {
  recency_used_.store(true, std::memory_order_relaxed);
  recency_.touch(key, &entry);
}

bool CacheCore::evict_oldest() {
  const auto oldest = recency_.oldest();
  if (!oldest) return false;
  RemovedList removed;
  if (!global_store_->erase(oldest->key, oldest->entry, RemovalCause::evicted, removed)) {
    recency_.forget(oldest->key, oldest->entry);  // already gone by another path
  }
  release(removed);
  return true;
}

void CacheCore::enforce_budgets() {
  while (settings_.max_bytes && counters_.bytes.load(std::memory_order_relaxed) >
                                    static_cast<std::int64_t>(*settings_.max_bytes)) {
    if (!evict_oldest()) break;
  }
  const std::size_t budget = process_budget.load(std::memory_order_relaxed);
  while (budget != 0 &&
         process_bytes.load(std::memory_order_relaxed) > static_cast<std::int64_t>(budget)) {
    // The globally least recently used entry goes: compare every cache's oldest use.
    std::shared_ptr<CacheCore> victim;
    std::uint64_t oldest_tick = UINT64_MAX;
    for (auto kind : {CacheKind::data, CacheKind::resource}) {
      for (auto& cache : all(kind)) {
        if (!cache->budgeted()) continue;
        if (auto oldest = cache->recency_.oldest(); oldest && oldest->tick < oldest_tick) {
          oldest_tick = oldest->tick;
          victim = std::move(cache);
        }
      }
    }
    if (!victim || !victim->evict_oldest()) break;
  }
}

void CacheCore::finish_flight(const Key& key, const Flight& flight) {
  std::lock_guard lock(flights_mu_);
  auto found = flights_.find(key);
  if (found != flights_.end() && found->second.get() == &flight) flights_.erase(found);
}

void CacheCore::retire_flight(const Key& key) {
  std::lock_guard lock(flights_mu_);
  auto found = flights_.find(key);
  if (found == flights_.end()) return;
  found->second->retired.store(true, std::memory_order_release);
  flights_.erase(found);
}

void CacheCore::retire_all_flights() {
  std::lock_guard lock(flights_mu_);
  for (auto& [key, flight] : flights_) flight->retired.store(true, std::memory_order_release);
  flights_.clear();
}

void CacheCore::release(RemovedList& removed) {
  for (Removed& item : removed) {
    counters_.entries.fetch_sub(1, std::memory_order_relaxed);
    counters_.bytes.fetch_sub(static_cast<std::int64_t>(item.entry->bytes()),
                              std::memory_order_relaxed);
    process_bytes.fetch_sub(static_cast<std::int64_t>(item.entry->bytes()),
                            std::memory_order_relaxed);
    if (recency_used_.load(std::memory_order_relaxed)) recency_.forget(item.key, item.entry.get());
    if (item.cause == RemovalCause::evicted) {
      counters_.evictions.fetch_add(1, std::memory_order_relaxed);
    } else if (item.cause == RemovalCause::expired) {
      counters_.expirations.fetch_add(1, std::memory_order_relaxed);
    }
    if (!settings_.on_release) continue;
    counters_.releases.fetch_add(1, std::memory_order_relaxed);
    try {
      settings_.on_release(*item.entry);
    } catch (...) {
      counters_.release_errors.fetch_add(1, std::memory_order_relaxed);
      warn("on_release threw (" + describe(std::current_exception()) + ") for an entry " +
           std::string(to_string(item.cause)) + "; the other releases go on");
    }
  }
  removed.clear();
}

void CacheCore::replay(const Entry& entry) const {
  for (const std::string& message : static_cast<const ValueEntry&>(entry).messages()) {
    emit(message);
  }
}

MissObserver& CacheCore::observer() const {
  if (settings_.observer) return *settings_.observer;
  // default_observer() may be swapped at run time; hold it for the call via a
  // thread-local handle so the reference stays valid.
  thread_local std::shared_ptr<MissObserver> held;
  held = default_observer();
  return *held;
}

void CacheCore::warn(const std::string& message) const {
  try {
    observer().warning(settings_.display_name, message);
  } catch (...) {
  }
}

void CacheCore::erase(const Key& unscoped_key) {
  const Key key = scoped(unscoped_key);
  retire_flight(key);
  RemovedList removed;
  store_for_current_session()->erase(key, nullptr, RemovalCause::erased, removed);
  release(removed);
  if (disk_) disk_->erase(key);
}

void CacheCore::clear() {
  clear_memory();
  if (disk_) disk_->clear();
}

void CacheCore::clear_memory() {
  generation_.fetch_add(1, std::memory_order_acq_rel);
  retire_all_flights();
  RemovedList removed;
  if (global_store_) {
    global_store_->clear(removed);
  } else {
    std::vector<std::shared_ptr<Store>> stores;
    {
      std::shared_lock lock(sessions_mu_);
      for (auto& [session, store] : session_stores_) stores.push_back(store);
    }
    for (auto& store : stores) store->clear(removed);
  }
  release(removed);
}

void CacheCore::drop_session(std::uint64_t session_id) {
  std::shared_ptr<Store> store;
  {
    std::unique_lock lock(sessions_mu_);
    auto found = session_stores_.find(session_id);
    if (found == session_stores_.end()) return;
    store = std::move(found->second);
    session_stores_.erase(found);
  }
  RemovedList removed;
  store->clear(removed);
  release(removed);
}

CacheStats CacheCore::stats() const {
  CacheStats s;
  s.name = settings_.display_name;
  s.hits = counters_.hits.load(std::memory_order_relaxed);
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

void set_process_byte_budget(std::optional<std::size_t> bytes) {
  detail::process_budget.store(bytes.value_or(0), std::memory_order_relaxed);
}

std::optional<std::size_t> process_byte_budget() {
  const std::size_t bytes = detail::process_budget.load(std::memory_order_relaxed);
  return bytes == 0 ? std::nullopt : std::optional<std::size_t>(bytes);
}

}  // namespace memo
