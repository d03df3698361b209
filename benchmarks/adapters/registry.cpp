// The list of engines memo_stores runs: memo's own (the engine table,
// memo::store_engines(), of this build) followed by the peers this build found.
#include <stdexcept>
#include <string>

#include "engine.h"
#include "memo/store.h"

namespace memo_bench {

std::vector<EngineInfo> engine_infos() {
  std::vector<EngineInfo> infos;
  for (const auto& engine : memo::store_engines()) {
    // A remote engine needs a server (set_redis_server); without one it is left out.
    if (engine.remote && redis_server().empty()) continue;
    infos.push_back({std::string(engine.name), false, engine.bounded,
                     engine.remote ? "a server shared by processes: its costs are round trips" : "",
                     engine.remote});
  }
#ifdef MEMO_HAVE_LIBCUCKOO
  infos.push_back({"libcuckoo", true, false, "libcuckoo-dev (header-only)"});
#endif
#ifdef MEMO_HAVE_ROCKSDB
  const char* rocksdb_note = "Debian librocksdb 7.8.3, built with assertions enabled";
  infos.push_back({"rocksdb_lru", true, true, rocksdb_note});
  infos.push_back({"rocksdb_hcc", true, true, rocksdb_note});
#endif
  return infos;
}

std::unique_ptr<Engine> make_engine(std::string_view name, const EngineConfig& config) {
#ifdef MEMO_HAVE_LIBCUCKOO
  if (name == "libcuckoo") return make_libcuckoo_engine(config);
#endif
#ifdef MEMO_HAVE_ROCKSDB
  if (name == "rocksdb_lru") return make_rocksdb_lru_engine(config);
  if (name == "rocksdb_hcc") return make_rocksdb_hcc_engine(config);
#endif
  for (const auto& engine : memo::store_engines()) {
    if (engine.name != name) continue;
#if MEMO_HAVE_HIREDIS
    if (engine.remote) return make_redis_store_engine(config);
#endif
    return make_memo_store_engine(name, config);
  }
  std::string known;
  for (const auto& info : engine_infos()) known += (known.empty() ? "" : ", ") + info.name;
  throw std::invalid_argument("unknown engine '" + std::string(name) + "'; known: " + known);
}

}  // namespace memo_bench
