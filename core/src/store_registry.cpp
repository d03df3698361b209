// The one place that knows every engine: names, factories, and the order the
// benchmarks and the contract test list them in. Adding an engine = one row here.
#include <functional>
#include <stdexcept>

#include "memo/store.h"
#include "memo/stores/cds_map.h"
#include "memo/stores/mutex_map.h"
#include "memo/stores/sharded_lru.h"
#include "memo/stores/tbb_map.h"

namespace memo {
namespace {

struct Factory {
  std::string_view name;
  std::function<std::unique_ptr<Store>(const StoreConfig&)> make;
};

const std::vector<Factory>& factories() {
  static const std::vector<Factory> all = {
      {"mutex_map", [](const StoreConfig& c) { return std::make_unique<MutexMapStore>(c); }},
      {"tbb_map", make_tbb_map_store},
      {"cds_map", make_cds_map_store},
      {"sharded_lru", make_sharded_lru_store},
  };
  return all;
}

}  // namespace

std::string_view to_string(RemovalCause cause) {
  switch (cause) {
    case RemovalCause::evicted: return "evicted";
    case RemovalCause::expired: return "expired";
    case RemovalCause::erased: return "erased";
    case RemovalCause::cleared: return "cleared";
  }
  return "unknown";
}

std::string_view to_string(StoreKind kind) {
  switch (kind) {
    case StoreKind::mutex_map: return "mutex_map";
    case StoreKind::tbb_map: return "tbb_map";
    case StoreKind::cds_map: return "cds_map";
    case StoreKind::sharded_lru: return "sharded_lru";
  }
  return "unknown";
}

std::vector<std::string> store_names() {
  std::vector<std::string> names;
  for (const auto& factory : factories()) names.emplace_back(factory.name);
  return names;
}

std::unique_ptr<Store> make_store(std::string_view name, const StoreConfig& config) {
  for (const auto& factory : factories()) {
    if (factory.name == name) return factory.make(config);
  }
  std::string known;
  for (const auto& factory : factories()) {
    known += known.empty() ? "" : ", ";
    known += factory.name;
  }
  throw std::invalid_argument("memo: unknown store '" + std::string(name) +
                              "'; known stores: " + known);
}

}  // namespace memo
