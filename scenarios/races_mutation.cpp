// The guide's two deterministic mutation examples: create_list() and the dropped column.
#include <atomic>
#include <mutex>

#include "memo_scenarios/atomic_list.h"
#include "races_cached.h"

namespace memo_scenarios::races {

using detail::object_of;
using detail::require;

ListResult run_list(SessionCrowd& crowd, Strategy strategy, const std::string& store,
                    int visits) {
  require(visits >= 1, "list needs at least one visit, not " + std::to_string(visits));
  std::atomic<std::uint64_t> computations{0};
  auto create_list = [&computations] {
    computations.fetch_add(1);
    return AtomicList({1, 2, 3});
  };
  ListResult result;
  detail::with_cache(strategy, store, "list", create_list, [&](const auto& cached) {
    for (int k = 0; k < visits; ++k) {
      memo::SessionScope as_user(crowd.session(k % crowd.size()));
      auto handle = cached();
      AtomicList& l = object_of(handle);
      std::unique_lock lock(l.mutex(), std::defer_lock);
      if (strategy == Strategy::cache_resource_locked) lock.lock();
      detail::read_then_write(l[0], 0);
      result.seen.push_back(l[0].load());
    }
  });
  result.computations = computations.load();
  return result;
}

namespace {

// The guide's Uber rides table, reduced to the columns the example needs.
memo::Frame load_rides(std::size_t rows) {
  memo::Frame df;
  // Columns first, spans after: adding a column may move the others' handles.
  df.add_uninitialized("Date/Time", memo::DType::i64, rows);
  df.add_uninitialized("Lat", memo::DType::f64, rows);
  df.add_uninitialized("Lon", memo::DType::f64, rows);
  auto w = df.column("Date/Time").values<std::int64_t>();
  auto la = df.column("Lat").values<double>();
  auto lo = df.column("Lon").values<double>();
  for (std::size_t i = 0; i < rows; ++i) {
    w[i] = 1'404'172'800 + static_cast<std::int64_t>(i) * 17;  // from 2014-07-01
    la[i] = 40.7 + static_cast<double>(i % 1000) * 1e-4;
    lo[i] = -74.0 + static_cast<double>(i % 997) * 1e-4;
  }
  return df;
}

// What st.dataframe(df) stands for: read a column.
double display(const memo::Frame& df) {
  double total = 0;
  for (double v : df.column("Lon").values<double>()) total += v;
  return total;
}

}  // namespace

ColumnResult run_column(SessionCrowd& crowd, Strategy strategy, const std::string& store,
                        int visits, std::size_t rows) {
  require(visits >= 1, "column needs at least one visit, not " + std::to_string(visits));
  require(rows >= 1, "column needs at least one row");
  std::atomic<std::uint64_t> computations{0};
  double loaded_checksum = 0;  // written by the one computation, read after it
  auto load_data = [&](const std::string& /*url*/) {
    computations.fetch_add(1);
    memo::Frame df = load_rides(rows);
    loaded_checksum = display(df);
    return df;
  };
  const std::string url =
      "https://raw.githubusercontent.com/plotly/datasets/master/uber-rides-data1.csv";
  ColumnResult result;
  result.visits = visits;
  detail::with_cache(strategy, store, "column", load_data, [&](const auto& cached) {
    for (int k = 0; k < visits; ++k) {
      memo::SessionScope as_user(crowd.session(k % crowd.size()));
      auto handle = cached(url);
      memo::Frame& df = object_of(handle);
      if (display(df) != loaded_checksum) ++result.wrong_values;
      try {
        df.drop("Lat");  // the guide's df.drop(columns=['Lat'], inplace=True)
      } catch (const memo::KeyError& error) {
        if (result.failed_visits++ == 0) {
          result.first_failed_visit = k;
          result.first_error = error.what();
        }
      }
    }
  });
  result.computations = computations.load();
  return result;
}

}  // namespace memo_scenarios::races
