#include "memo/cache.h"

#include <cxxabi.h>

#include <cstdlib>

#include "cache/cache_core.h"
#include "cache/registry.h"

namespace memo {
namespace {

void clear_kind(CacheKind kind) {
  // A snapshot: clearing runs on_release, which may make caches or clear others.
  for (detail::CacheCore* cache : detail::Registry::all()) {
    if (cache->settings().kind == kind) cache->clear();
  }
}

}  // namespace

std::string readable_type_name(const std::type_info& type) {
  int status = 0;
  char* readable = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string name = status == 0 && readable != nullptr ? readable : type.name();
  std::free(readable);
  return name;
}

void cache_data_clear_all() { clear_kind(CacheKind::data); }
void cache_resource_clear_all() { clear_kind(CacheKind::resource); }

}  // namespace memo
