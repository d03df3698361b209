// A program that uses memo as another project would: the public header, the default
// mutex_map engine, nothing from memo's source tree. tests/consumer.cmake builds it
// against an installed memo (find_package, pkg-config) and memo's sources
// (add_subdirectory), then runs it; it prints "memo consumer: ok" only when every
// check below held.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "memo/memo.h"

#if !defined(MEMO_HAVE_TBB) || !defined(MEMO_HAVE_CDS)
#error "memo's usage requirements did not arrive: MEMO_HAVE_TBB and MEMO_HAVE_CDS are undefined"
#endif
static_assert(__cplusplus >= 202002L, "memo::memo must bring C++20 with it");

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "memo consumer: FAILED: %s\n", what);
    ++failures;
  }
}

bool has_engine(const std::vector<std::string>& names, const char* name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

int computations = 0;

std::vector<double> squares(int count) {
  ++computations;
  std::vector<double> values;
  for (int i = 0; i < count; ++i) values.push_back(double(i) * i);
  return values;
}

}  // namespace

int main() {
  auto cached = memo::cache_data(squares, {.name = "consumer_squares", .max_entries = 8,
                                           .store = memo::StoreKind::mutex_map,
                                           .show_spinner = false});
  std::vector<double> first = cached(1000);
  first[3] = -1;  // the caller's own copy: the cached value must not change
  const std::vector<double> again = cached(1000);
  check(computations == 1, "the second call was a hit");
  check(again.size() == 1000 && again[3] == 9.0, "a hit returns the value as computed");
  check(cached.stats().hits == 1, "stats() counts the hit");

  // The engine list must match the optional libraries this memo was built with.
  const std::vector<std::string> names = memo::store_names();
  check(has_engine(names, "mutex_map"), "mutex_map is always built");
  check(has_engine(names, "tbb_map") == bool(MEMO_HAVE_TBB), "tbb_map built iff MEMO_HAVE_TBB");
  check(has_engine(names, "cds_map") == bool(MEMO_HAVE_CDS), "cds_map built iff MEMO_HAVE_CDS");
#ifdef MEMO_HAVE_HIREDIS
  check(has_engine(names, "redis") == bool(MEMO_HAVE_HIREDIS), "redis built iff MEMO_HAVE_HIREDIS");
#endif

  std::string listed;
  for (const auto& name : names) listed += (listed.empty() ? "" : ", ") + name;
  if (failures) return 1;
  std::printf("memo consumer: ok (engines: %s)\n", listed.c_str());
  return 0;
}
