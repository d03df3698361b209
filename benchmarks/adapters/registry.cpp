// The list of engines memo_stores runs: memo's own (whatever memo::store_names()
// holds in this build) followed by the peers this build found.
#include <stdexcept>
#include <string>

#include "engine.h"
#include "memo/store.h"

namespace memo_bench {

std::vector<EngineInfo> engine_infos() {
  std::vector<EngineInfo> infos;
  for (const auto& name : memo::store_names()) infos.push_back({name, false, true, ""});
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
  for (const auto& store : memo::store_names()) {
    if (store == name) return make_memo_store_engine(name, config);
  }
  std::string known;
  for (const auto& info : engine_infos()) known += (known.empty() ? "" : ", ") + info.name;
  throw std::invalid_argument("unknown engine '" + std::string(name) + "'; known: " + known);
}

}  // namespace memo_bench
