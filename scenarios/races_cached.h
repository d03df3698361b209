// Private helpers of the races scenarios: one cache per strategy, the guide's
// read-then-write, and per-session tallies.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "memo/memo.h"
#include "memo_scenarios/races.h"

namespace memo_scenarios::races::detail {

// "races/<scenario>#<n>": every run gets a fresh cache identity, so no run ever sees
// another run's entries (caches with one identity share their entries).
std::string unique_name(std::string_view scenario);

// Scenario misses are many and short: no spinner, no stderr noise.
std::shared_ptr<memo::MissObserver> quiet_observer();

// Throws std::invalid_argument when the strategy is not in this build, or `ok` is false.
void require(bool ok, const std::string& message);
void require_available(Strategy strategy);

// Hook for the copy-on-write strategy: another change adds DataOptions::copy with
// memo::Copy::cow. Detected here, so this builds both before and after it lands and
// cache_data_cow joins the scenarios as soon as it exists.
template <class Options>
concept has_copy_choice = requires(Options options) {
  options.copy = decltype(options.copy)::cow;
};
inline constexpr bool cow_available = has_copy_choice<memo::DataOptions>;

template <class Options>
void request_cow(Options& options) {
  if constexpr (has_copy_choice<Options>) options.copy = decltype(options.copy)::cow;
}

// cache_data hands out values, cache_resource shared_ptrs: one way to reach either.
template <class T>
T& object_of(T& value) {
  return value;
}
template <class T>
T& object_of(std::shared_ptr<T>& handle) {
  return *handle;
}

// Caches live for the process: a scenario's cache (named uniquely per run) is emptied
// when the run is over, so runs do not pile up entries.
template <class Cached>
struct ClearAtExit {
  const Cached& cached;
  ~ClearAtExit() { cached.clear(); }
};

// Builds the cache `strategy` calls for around `fn` and passes it to `use`.
template <class Fn, class Use>
decltype(auto) with_cache(Strategy strategy, const std::string& store, std::string_view scenario,
                          Fn fn, Use&& use) {
  require_available(strategy);
  const std::string name = unique_name(scenario);
  if (copies(strategy)) {
    memo::DataOptions options{
        .name = name, .store = store, .show_spinner = false, .observer = quiet_observer()};
    if (strategy == Strategy::cache_data_cow) request_cow(options);
    const auto cached = memo::cache_data(std::move(fn), options);
    const ClearAtExit<decltype(cached)> emptied{cached};
    return use(cached);
  }
  memo::ResourceOptions<memo::detail::resource_object_t<Fn>> options{
      .name = name, .store = store, .show_spinner = false, .observer = quiet_observer()};
  const auto cached = memo::cache_resource(std::move(fn), options);
  const ClearAtExit<decltype(cached)> emptied{cached};
  return use(cached);
}

// Work between a read and the write that depends on it; opaque to the optimizer.
inline void spin(int iterations) {
  for (int i = 0; i < iterations; ++i) asm volatile("" ::: "memory");
}

// The guide's `first = l[0]; l[0] = first + 1`: a load, then a store, never a
// fetch_add. Returns the value read.
inline long read_then_write(std::atomic<long>& cell, int gap) {
  const long first = cell.load();
  spin(gap);
  cell.store(first + 1);
  return first;
}

// One session's counts, a cache line of its own so sessions do not slow each other.
struct alignas(64) Tally {
  std::uint64_t operations = 0;
  std::uint64_t lost = 0;
  std::uint64_t wrong = 0;
  long misbooked = 0;
};

}  // namespace memo_scenarios::races::detail
