#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>

#include "races_cached.h"

namespace memo_scenarios::races {
namespace {

constexpr Strategy kStrategies[] = {Strategy::cache_data, Strategy::cache_data_cow,
                                    Strategy::cache_resource, Strategy::cache_resource_locked};
constexpr Scenario kScenarios[] = {Scenario::list, Scenario::column,    Scenario::race,
                                   Scenario::bank, Scenario::herd,      Scenario::herd_keys,
                                   Scenario::session};

}  // namespace

std::string_view to_string(Strategy strategy) {
  switch (strategy) {
    case Strategy::cache_data: return "cache_data";
    case Strategy::cache_data_cow: return "cache_data_cow";
    case Strategy::cache_resource: return "cache_resource";
    case Strategy::cache_resource_locked: return "cache_resource_locked";
  }
  return "unknown";
}

Strategy parse_strategy(std::string_view name) {
  std::string known;
  for (Strategy s : kStrategies) {
    if (to_string(s) == name) return s;
    known += (known.empty() ? "" : ", ") + std::string(to_string(s));
  }
  throw std::invalid_argument("unknown strategy '" + std::string(name) + "'; known: " + known);
}

bool copies(Strategy strategy) {
  return strategy == Strategy::cache_data || strategy == Strategy::cache_data_cow;
}

bool available(Strategy strategy) {
  return strategy != Strategy::cache_data_cow || detail::cow_available;
}

std::string_view to_string(Scenario scenario) {
  switch (scenario) {
    case Scenario::list: return "list";
    case Scenario::column: return "column";
    case Scenario::race: return "race";
    case Scenario::bank: return "bank";
    case Scenario::herd: return "herd";
    case Scenario::herd_keys: return "herd_keys";
    case Scenario::session: return "session";
  }
  return "unknown";
}

Scenario parse_scenario(std::string_view name) {
  std::string known;
  for (Scenario s : kScenarios) {
    if (to_string(s) == name) return s;
    known += (known.empty() ? "" : ", ") + std::string(to_string(s));
  }
  throw std::invalid_argument("unknown scenario '" + std::string(name) + "'; known: " + known);
}

std::vector<Scenario> all_scenarios() { return {std::begin(kScenarios), std::end(kScenarios)}; }

std::vector<Strategy> strategies_for(Scenario scenario) {
  std::vector<Strategy> chosen;
  for (Strategy s : kStrategies) {
    if (!available(s)) continue;
    // Session scope is a cache_resource option; a lock only matters where sessions
    // write the shared object at the same time; Copy::cow maps only Frame results
    // (cow.h), so on the other scenarios' lists it is serialize exactly and would only
    // repeat cache_data's figures.
    bool fits = true;
    if (scenario == Scenario::session) fits = s == Strategy::cache_resource;
    else if (s == Strategy::cache_resource_locked)
      fits = scenario == Scenario::race || scenario == Scenario::bank;
    else if (s == Strategy::cache_data_cow) fits = scenario == Scenario::column;
    if (fits) chosen.push_back(s);
  }
  return chosen;
}

std::chrono::nanoseconds percentile(std::vector<std::chrono::nanoseconds> sample, double p) {
  if (sample.empty()) return std::chrono::nanoseconds{0};
  std::sort(sample.begin(), sample.end());
  const double rank = std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * double(sample.size()));
  const std::size_t index = rank < 1 ? 0 : static_cast<std::size_t>(rank) - 1;
  return sample[std::min(index, sample.size() - 1)];
}

namespace detail {

std::string unique_name(std::string_view scenario) {
  static std::atomic<std::uint64_t> next{0};
  return "races/" + std::string(scenario) + "#" + std::to_string(next.fetch_add(1));
}

std::shared_ptr<memo::MissObserver> quiet_observer() {
  static const auto silent = std::make_shared<memo::MissObserver>();
  return silent;
}

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument("memo_scenarios::races: " + message);
}

void require_available(Strategy strategy) {
  require(available(strategy), std::string(to_string(strategy)) +
                                   " is not available in this build (needs DataOptions::copy)");
}

}  // namespace detail
}  // namespace memo_scenarios::races
