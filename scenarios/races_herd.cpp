// Many sessions at once on the cache itself: the thundering herd and session scope.
#include <atomic>
#include <thread>
#include <unordered_map>

#include "memo_scenarios/atomic_list.h"
#include "races_cached.h"

namespace memo_scenarios::races {

using detail::object_of;
using detail::require;

HerdResult run_herd(SessionCrowd& crowd, const HerdConfig& config) {
  require(config.keys >= 1, "herd needs at least one key");
  require(config.compute_time.count() >= 0, "herd compute time must not be negative");
  std::atomic<std::uint64_t> computations{0};
  auto slow_load = [&](int key) {
    computations.fetch_add(1);
    std::this_thread::sleep_for(config.compute_time);
    return AtomicList({key, 2, 3});
  };
  const auto sessions = static_cast<std::size_t>(crowd.size());
  std::vector<std::vector<std::chrono::nanoseconds>> latencies(sessions);
  std::vector<detail::Tally> tallies(sessions);
  HerdResult result;
  detail::with_cache(config.strategy, config.store, "herd", slow_load, [&](const auto& cached) {
    result.elapsed = crowd.run([&](int session) {
      const auto s = static_cast<std::size_t>(session);
      latencies[s].reserve(static_cast<std::size_t>(config.keys));
      for (int j = 0; j < config.keys; ++j) {
        const int key = (session + j) % config.keys;
        const auto start = std::chrono::steady_clock::now();
        auto handle = cached(key);
        latencies[s].push_back(std::chrono::steady_clock::now() - start);
        if (object_of(handle)[0].load() != key) ++tallies[s].wrong;
        ++tallies[s].operations;
      }
    });
    result.coalesced = cached.stats().coalesced;
  });
  for (std::size_t s = 0; s < sessions; ++s) {
    result.calls += tallies[s].operations;
    result.wrong_values += tallies[s].wrong;
    result.latencies.insert(result.latencies.end(), latencies[s].begin(), latencies[s].end());
  }
  result.computations = computations.load();
  return result;
}

namespace {

// A resource that remembers which session it was made for.
struct SessionModel {
  std::uint64_t owner;
};

}  // namespace

SessionResult run_session(SessionCrowd& crowd, const SessionConfig& config) {
  require(config.reruns >= 1, "session needs at least one call per session");
  const auto sessions = static_cast<std::size_t>(crowd.size());
  std::unordered_map<std::uint64_t, std::size_t> index_of;  // read-only once the run starts
  for (std::size_t s = 0; s < sessions; ++s) index_of[crowd.session(int(s)).id()] = s;
  std::vector<std::atomic<int>> releases(sessions);
  std::atomic<std::uint64_t> computations{0}, global_computations{0}, global_releases{0};
  std::vector<detail::Tally> tallies(sessions);

  auto per_session = memo::cache_resource(
      [&] {
        computations.fetch_add(1);
        return SessionModel{memo::current_session().id()};
      },
      memo::ResourceOptions<SessionModel>{
          .name = detail::unique_name("session"),
          .store = config.store,
          .show_spinner = false,
          .observer = detail::quiet_observer(),
          .on_release = [&](SessionModel& model) { releases[index_of.at(model.owner)]++; },
          .scope = memo::Scope::session});
  auto shared = memo::cache_resource(
      [&] {
        global_computations.fetch_add(1);
        return SessionModel{0};
      },
      memo::ResourceOptions<SessionModel>{
          .name = detail::unique_name("session_global"),
          .store = config.store,
          .show_spinner = false,
          .observer = detail::quiet_observer(),
          .on_release = [&](SessionModel&) { global_releases.fetch_add(1); }});

  SessionResult result;
  result.elapsed = crowd.run([&](int session) {
    detail::Tally& tally = tallies[static_cast<std::size_t>(session)];
    for (int r = 0; r < config.reruns; ++r) {
      if (per_session()->owner != memo::current_session().id()) ++tally.wrong;
      if (shared()->owner != 0) ++tally.wrong;
    }
  });
  crowd.disconnect_all();
  for (auto& count : releases) result.releases.push_back(count.load());
  result.global_releases = global_releases.load();
  shared();
  result.global_still_cached = global_computations.load() == 1;
  crowd.disconnect_all();
  int total_after = 0;
  for (auto& count : releases) total_after += count.load();
  int total_before = 0;
  for (int count : result.releases) total_before += count;
  result.released_again = static_cast<std::uint64_t>(total_after - total_before);
  for (const auto& t : tallies) result.wrong_values += t.wrong;
  result.computations = computations.load();
  result.global_computations = global_computations.load();
  shared.clear();  // caches live for the process; its on_release refers to this frame
  return result;
}

}  // namespace memo_scenarios::races
