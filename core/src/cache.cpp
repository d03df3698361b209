#include "memo/cache.h"

namespace memo {
namespace detail {

std::string demangle(const char* mangled) {
  int status = 0;
  char* readable = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = status == 0 && readable != nullptr ? readable : mangled;
  std::free(readable);
  return name;
}

}  // namespace detail

void cache_data_clear_all() {
  for (auto& cache : detail::CacheCore::all(detail::CacheKind::data)) cache->clear();
}

void cache_resource_clear_all() {
  for (auto& cache : detail::CacheCore::all(detail::CacheKind::resource)) cache->clear();
}

}  // namespace memo
