// Copy strategies of cache_data (docs/copy-costs.md): a caller's writes never reach the cache
// or another caller, with Copy::serialize and with Copy::cow, from many threads at once.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "support/test_helpers.h"

namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr std::size_t kRows = 64 * 1024 / 8;  // 16 pages per column
#else
constexpr std::size_t kRows = 1024 * 1024 / 8;  // 256 pages per column
#endif
constexpr int kThreads = 8;
const std::size_t kPageValues = static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) / sizeof(double);

// Built by appending: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string.
std::string column_name(std::size_t c) {
  std::string name = "c";
  name += std::to_string(c);
  return name;
}

double original_value(std::size_t column, std::size_t row) {
  return static_cast<double>(column) * 1e9 + static_cast<double>(row) * 0.5;
}

memo::Frame make_frame(std::size_t rows) {
  memo::Frame frame;
  for (std::size_t c = 0; c < 4; ++c) {
    memo::Column& column = frame.add_uninitialized(column_name(c), memo::DType::f64, rows);
    auto values = column.values<double>();
    for (std::size_t r = 0; r < rows; ++r) values[r] = original_value(c, r);
  }
  return frame;
}

// Which /proc/self/maps line holds `address`: proves where a copy's bytes live.
std::string mapping_of(const void* address) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  const auto at = reinterpret_cast<std::uintptr_t>(address);
  while (std::getline(maps, line)) {
    std::uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream fields(line);
    fields >> std::hex >> begin >> dash >> end;
    if (begin <= at && at < end) return line;
  }
  return "";
}

// "Anonymous" of the mapping holding `address`, in KiB (/proc/self/smaps): in a
// private file mapping these are exactly the pages copied on write. (Private_Dirty
// would also count the file's own pages, which shmem keeps dirty.)
long copied_kib(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  const auto at = reinterpret_cast<std::uintptr_t>(address);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    std::uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream fields(line);
    if (fields >> std::hex >> begin >> dash >> end && dash == '-') {
      inside = begin <= at && at < end;
    } else if (inside && line.rfind("Anonymous:", 0) == 0) {
      return std::stol(line.substr(line.find(':') + 1));
    }
  }
  return -1;
}

bool in_cow_file(const memo::Frame& frame) {
  return mapping_of(frame.columns().front().bytes().data()).find("memo-cow") != std::string::npos;
}

bool holds_original_values(const memo::Frame& frame, std::size_t rows) {
  if (frame.rows() != rows || frame.num_columns() != 4) return false;
  for (std::size_t c = 0; c < 4; ++c) {
    auto values = frame.column(column_name(c)).values<double>();
    for (std::size_t r = 0; r < rows; ++r) {
      if (values[r] != original_value(c, r)) return false;
    }
  }
  return true;
}

const char* name_of(memo::Copy copy) { return copy == memo::Copy::cow ? "cow" : "serialize"; }

}  // namespace

TEST_CASE("cow: sealed memory files are available on this kernel", "[cow]") {
  CHECK(memo::cow::available());
}

TEST_CASE("copies: 8 threads write into every page of their copy - nobody else sees it", "[cow]") {
  const memo::Copy copy = GENERATE(memo::Copy::serialize, memo::Copy::cow);
  INFO("copy strategy " << name_of(copy));
  auto load = memo::cache_data([](int rows) { return make_frame(static_cast<std::size_t>(rows)); },
                               {.name = std::string("cow_test_threads_") + name_of(copy),
                                .show_spinner = false,
                                .copy = copy});
  load.clear();
  const int rows = static_cast<int>(kRows);
  { memo::Frame computed = load(rows); }  // the miss; every call below is a hit
  const memo::Frame expected = make_frame(kRows);

  std::atomic<int> wrong{0}, mapped{0};
  memo_test::StartLine start(kThreads);
  memo_test::run_threads(kThreads, [&](int thread) {
    start.arrive_and_wait();
    memo::Frame mine = load(rows);
    if (!(mine == expected)) ++wrong;
    if (in_cow_file(mine)) ++mapped;
    const double marker = -1.0 - thread;
    for (auto& column : mine.columns()) {
      auto values = column.values<double>();
      for (std::size_t r = 0; r < values.size(); r += kPageValues) values[r] = marker;
    }
    // Our own writes stay ours, every other value is untouched...
    for (std::size_t c = 0; c < 4; ++c) {
      auto values = mine.columns()[c].values<double>();
      for (std::size_t r = 0; r < values.size(); ++r) {
        const double want = r % kPageValues == 0 ? marker : original_value(c, r);
        if (values[r] != want) ++wrong;
      }
    }
    // ...and a copy taken after them is the original.
    if (!holds_original_values(load(rows), kRows)) ++wrong;
  });
  CHECK(wrong == 0);
  CHECK(mapped == (copy == memo::Copy::cow ? kThreads : 0));
  CHECK(holds_original_values(load(rows), kRows));
  CHECK(memo::hash_of(load(rows)) == memo::hash_of(expected));  // checksum of every byte
  CHECK(load.stats().misses == 1);
}

TEST_CASE("cow: a write copies only the page it touches", "[cow]") {
  const memo::Payload sealed = memo::cow::encode_frame(make_frame(kRows));
  memo::Frame copy = memo::cow::map_frame(sealed);
  const void* column = copy.columns()[2].bytes().data();
  const long page_kib = sysconf(_SC_PAGESIZE) / 1024;
  REQUIRE(copied_kib(column) == 0);
  CHECK(holds_original_values(copy, kRows));  // reading maps pages, copies none
  CHECK(copied_kib(column) == 0);
  auto values = copy.columns()[2].values<double>();
  values[0] = 1.0;
  values[1] = 2.0;  // same page
  values[kPageValues * 3] = 3.0;
  values[kRows - 1] = 4.0;
  CHECK(copied_kib(column) == 3 * page_kib);
}

TEST_CASE("cow: a copy stays valid and writable after its entry leaves the cache", "[cow]") {
  auto load = memo::cache_data([] { return make_frame(kRows); },
                               {.name = "cow_test_outlives", .show_spinner = false,
                                .copy = memo::Copy::cow});
  load.clear();
  { memo::Frame computed = load(); }
  memo::Frame kept = load();
  REQUIRE(in_cow_file(kept));
  load.clear();  // the entry, its view and its descriptor go; the mapping stays
  CHECK(load.stats().entries == 0);
  CHECK(holds_original_values(kept, kRows));
  kept.column("c2").values<double>()[7] = 42.0;
  kept.drop("c0");  // the columns share one mapping; dropping one keeps the rest
  CHECK(kept.column("c2").values<double>()[7] == 42.0);
  CHECK(kept.column("c3").values<double>()[kRows - 1] == original_value(3, kRows - 1));
}

TEST_CASE("cow: the guide's 'Lat' example: dropping a column of a mapped copy is local", "[cow]") {
  auto load = memo::cache_data(
      [](const std::string&) {
        memo::Frame frame;
        frame.add_column<double>("Lat", {40.7, 40.8, 40.9});
        frame.add_column<double>("Lon", {-73.9, -74.0, -74.1});
        return frame;
      },
      {.name = "cow_test_lat", .show_spinner = false, .copy = memo::Copy::cow});
  load.clear();
  for (int run = 0; run < 3; ++run) {
    memo::Frame df = load("uber-rides-data1.csv");
    REQUIRE(df.has_column("Lat"));
    df.drop("Lat");
  }
}

TEST_CASE("cow: the file holds exactly Codec<Frame>'s bytes, and both decoders agree", "[cow]") {
  const memo::Frame frame = make_frame(1000);
  const memo::Payload sealed = memo::cow::encode_frame(frame);
  const memo::Payload plain = memo::Codec<memo::Frame>::encode(frame);
  REQUIRE(memo::cow::is_sealed(sealed));
  CHECK_FALSE(memo::cow::is_sealed(plain));
  REQUIRE(sealed.size == plain.size);
  CHECK(std::memcmp(sealed.data.get(), plain.data.get(), plain.size) == 0);
  CHECK(memo::cow::map_frame(sealed) == frame);
  CHECK(memo::cow::map_frame(plain) == frame);  // not sealed: decoded by copying
  CHECK(memo::Codec<memo::Frame>::decode(sealed.view()) == frame);
}

TEST_CASE("cow: two mappings of one file are independent", "[cow]") {
  const memo::Payload sealed = memo::cow::encode_frame(make_frame(kRows));
  memo::Frame a = memo::cow::map_frame(sealed);
  memo::Frame b = memo::cow::map_frame(sealed);
  CHECK(a.columns()[0].bytes().data() != b.columns()[0].bytes().data());
  a.columns()[1].values<double>()[0] = 1.0;
  CHECK(b.columns()[1].values<double>()[0] == original_value(1, 0));
  CHECK(memo::Codec<memo::Frame>::decode(sealed.view()) == make_frame(kRows));
}

TEST_CASE("cow: empty frames and zero-row columns round-trip", "[cow]") {
  memo::Frame empty;
  CHECK(memo::cow::map_frame(memo::cow::encode_frame(empty)) == empty);
  memo::Frame no_rows;
  no_rows.add_uninitialized("x", memo::DType::i32, 0);
  no_rows.add_uninitialized("y", memo::DType::u8, 0);
  CHECK(memo::cow::map_frame(memo::cow::encode_frame(no_rows)) == no_rows);
}

TEST_CASE("cow: non-Frame results are stored and copied as with serialize (list example 2, 2, 2)",
          "[cow]") {
  auto create_list = memo::cache_data([] { return std::vector<int>{1, 2, 3}; },
                                      {.name = "cow_test_list", .show_spinner = false,
                                       .copy = memo::Copy::cow});
  create_list.clear();
  std::vector<int> seen;
  for (int user = 0; user < 3; ++user) {
    auto l = create_list();
    l[0] = l[0] + 1;
    seen.push_back(l[0]);
  }
  CHECK(seen == std::vector<int>{2, 2, 2});
}

TEST_CASE("cow: Copy is part of the cache identity", "[cow]") {
  int runs = 0;
  auto fn = [&runs] { ++runs; return make_frame(16); };
  auto serialized = memo::cache_data(fn, {.name = "cow_test_identity", .show_spinner = false});
  auto mapped = memo::cache_data(fn, {.name = "cow_test_identity", .show_spinner = false,
                                      .copy = memo::Copy::cow});
  serialized.clear();
  mapped.clear();
  serialized();
  mapped();
  CHECK(runs == 2);
}
