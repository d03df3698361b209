// memo_rows: the caching guide's row table for a 4-column float64
// frame at 10M–200M rows: what a cached call costs on a miss ("first") and on a hit
// ("subsequent"), per copy strategy and store engine, beside memcpy references.
//
//   build/benchmarks/memo_rows --rows=10M,50M,100M,200M --benchmark_repetitions=3
//       --benchmark_format=json --benchmark_out=rows.json      (scripts/run_rows --full)
//
// Names (Google Benchmark appends "/iterations:<n>/real_time": iteration counts are
// fixed, see below, and every run is timed on the wall clock):
//   rows/<strategy>/<phase>/<store>/rows:<N>   strategy cache_data (Copy::serialize),
//       cache_data_cow (Copy::cow), cache_resource; phase first, subsequent,
//       subsequent_scan
//   rows/memcpy/fresh/rows:<N>   copy every column into a fresh huge-page mapping
//       (what allocate_bytes does when its pool has no block): the cold-memory floor
//   rows/memcpy/warm/rows:<N>    copy every column into memory already written: the
//       floor of any copy. Both copy with memo::copy_bytes (all cores), as the codec does.
//
// Phases, and what the timed region holds:
//   first: one call on a miss, i.e. the decorator's overhead alone. The function hands
//     back a frame built before the timed region, by move (a vector move: the counter
//     function_ns is its measured duration, tens of ns), so the call's time is hashing,
//     the store insert and, for cache_data, writing the stored bytes. Between
//     iterations (untimed) the cache is cleared and the frame handed back again.
//   subsequent: one call on a hit. The previous iteration's copy is dropped untimed
//     first, as a rerun drops the last run's frame; one untimed warm-up hit precedes
//     the loop, so every timed call is such a rerun. cache_resource's timed call
//     includes dropping its handle (a shared_ptr release).
//   subsequent_scan: a hit plus reading every value once (the checksum), so costs a
//     strategy defers (copy-on-write's page faults) show.
//
// Checks: every iteration verifies the checksum of the frame it got (untimed, except in
// subsequent_scan where reading is the point) and skips the benchmark with an error on
// a mismatch. cache_resource returns the same object every time: each call is checked
// to return that object and its checksum is verified once after the loop. The stored
// bytes are checked by the subsequent phases, whose every hit decodes them.
//
// Iterations are fixed per size so the run time is predictable: each run rebuilds its
// inputs, and checking a copy-on-write hit (microseconds) reads the whole frame (up to
// a second), so Google Benchmark's search, which grows the count tenfold until the
// timed part reaches min_time, would run for hours. Byte-bound phases copy about 2 GB
// per repetition (1 to 20 iterations); cow hits at least 5; cache_resource first 2000
// and subsequent 1000000. --benchmark_min_time has no effect; use
// --benchmark_repetitions for more samples (scripts/run_rows --full uses 3).
//
// The redis store: rows/cache_data/{first,subsequent}/redis/rows:<N> at every size when a
// server is given (--redis_url, else $MEMO_REDIS_URL; without either they are skipped
// with a message): the same cache_data calls with the entry on the server, so "first"
// also writes the value to Redis and "subsequent" reads it back from there on every
// hit. scripts/pickle_redis_baseline.py measures what a Python user does instead
// (pickle + redis-py) against the same server.
//
// Flags (the table in main(); memo_rows --help lists them with their defaults): --rows,
// --stores (auto runs every engine at the smallest size and mutex_map at every size:
// engines differ in lookup cost, not in copy cost, which is what grows with rows),
// --strategies, --seed, --block_pool, --references, --redis_url, --redis_max_rows.
//
// Memory: before building its inputs each run compares what it will hold at its peak
// (rows_inputs.h: memory_need, 1–2 frames) plus 1 GiB headroom with MemAvailable and
// skips with a message naming the size and the bytes needed when it does not fit. A
// run in which every benchmark was skipped measured nothing: it says so and exits 1.
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_main.h"
#include "memo/memo.h"
#include "rows_inputs.h"

namespace {

using memo_rows::checksum;
using memo_rows::frame_bytes;
using memo_rows::gib;
using memo_rows::make_frame;

const std::vector<std::string> kStrategies = {"cache_data", "cache_data_cow", "cache_resource"};
const std::vector<std::string> kPhases = {"first", "subsequent", "subsequent_scan"};
constexpr std::uint64_t kMaxRows = std::uint64_t{1} << 36;  // 2 TiB frames: surely a typo

struct Case {
  std::string strategy;  // one of kStrategies, or "memcpy"
  std::string phase;     // one of kPhases, or fresh/warm for memcpy
  std::string store;     // empty for memcpy
  std::uint64_t rows;
  std::uint64_t seed;
  std::string skipped_because = {};  // set: the case reports a skip with this reason

  std::string name() const {
    std::string text = "rows/" + strategy + "/" + phase + "/";
    if (!store.empty()) text += store + "/";
    return text + "rows:" + std::to_string(rows);
  }
};

// The redis rows' server (main sets it from --redis_url or $MEMO_REDIS_URL).
std::string& redis_server() {
  static std::string server;
  return server;
}

bool is_remote(const std::string& store) {
  for (const auto& engine : memo::store_engines()) {
    if (engine.name == store) return engine.remote;
  }
  return false;
}

std::int64_t byte_bound_iterations(std::uint64_t rows) {
  const std::uint64_t target = std::uint64_t{2} << 30;
  return static_cast<std::int64_t>(std::clamp<std::uint64_t>(target / frame_bytes(rows), 1, 20));
}

std::int64_t iterations_for(const Case& c) {
  if (c.strategy == "cache_resource" && c.phase == "first") return 2000;
  if (c.strategy == "cache_resource" && c.phase == "subsequent") return 1000000;
  // A mapped copy costs microseconds, but checking it reads the whole frame.
  if (c.strategy == "cache_data_cow" && c.phase == "subsequent") {
    return std::max<std::int64_t>(5, byte_bound_iterations(c.rows));
  }
  return byte_bound_iterations(c.rows);
}

benchmark::TimeUnit unit_for(const Case& c) {
  if (c.strategy == "cache_resource" && c.phase == "subsequent") return benchmark::kNanosecond;
  if (c.phase == "subsequent" && c.strategy == "cache_data_cow") return benchmark::kMicrosecond;
  if (c.strategy == "cache_resource" && c.phase == "first") return benchmark::kMicrosecond;
  return benchmark::kMillisecond;
}

// False (and the run skipped, with a line on stderr) when the case was left out by a flag
// or its peak would not fit in memory.
bool may_run(benchmark::State& state, const Case& c) {
  if (!c.skipped_because.empty()) {
    const std::string message = "skipped: " + c.skipped_because;
    memo_bench::progress(c.name() + ": " + message);
    memo_bench::skip(state, c.name(), message);
    return false;
  }
  memo_rows::MemoryNeed need = memo_rows::memory_need(c.strategy, c.phase);
  std::string why = need.why;
  if (is_remote(c.store)) {  // the server's copy takes this machine's memory too
    need.frames += 1;
    why += " + the server's copy";
  }
  const auto needed =
      static_cast<std::uint64_t>(need.frames * static_cast<double>(frame_bytes(c.rows))) +
      memo_rows::kHeadroomBytes;
  const std::uint64_t available = memo::available_memory_bytes();
  if (available >= needed) {
    memo_bench::progress(c.name() + ": start (needs " + gib(needed) + ": " + why +
                         " + 1 GiB headroom; " + gib(available) + " available)");
    return true;
  }
  const std::string message = "skipped: rows:" + std::to_string(c.rows) + " needs " + gib(needed) +
                              " (" + why + " + 1 GiB headroom) but " + gib(available) +
                              " is available";
  memo_bench::progress(c.name() + ": " + message);
  memo_bench::skip(state, c.name(), message);
  return false;
}

// Whether the phase's cost grows with the bytes of the frame (bytes_per_second is
// reported only then: a handle or a mapping delivers no bytes per second).
bool byte_bound(const Case& c) {
  if (c.strategy == "cache_resource") return c.phase == "subsequent_scan";
  return !(c.strategy == "cache_data_cow" && c.phase == "subsequent");
}

void finish(benchmark::State& state, const Case& c, std::chrono::steady_clock::time_point start) {
  if (byte_bound(c)) {
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(frame_bytes(c.rows)));
  }
  state.counters["rows"] = static_cast<double>(c.rows);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  memo_bench::progress(c.name() + ": done, " + std::to_string(state.iterations()) +
                       " iterations in " + std::to_string(seconds) + " s (inputs included)");
}

bool verify(benchmark::State& state, std::uint64_t got, std::uint64_t expected, const char* what) {
  if (got == expected) return true;
  state.SkipWithError((std::string("wrong checksum: ") + what).c_str());
  return false;
}

// A fresh anonymous mapping advised for huge pages, 2 MiB aligned: what allocate_bytes
// maps when its pool is empty. Owned by a ByteOwner that unmaps it.
memo::ByteOwner fresh_mapping(std::size_t size) {
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  const std::size_t length = (size + kHuge - 1) / kHuge * kHuge;
  void* raw =
      mmap(nullptr, length + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + kHuge - 1) / kHuge * kHuge;
  if (aligned > start) munmap(raw, aligned - start);
  if (start + kHuge > aligned) {
    munmap(reinterpret_cast<void*>(aligned + length), start + kHuge - aligned);
  }
  madvise(reinterpret_cast<void*>(aligned), length, MADV_HUGEPAGE);
  return memo::ByteOwner(reinterpret_cast<std::byte*>(aligned),
                         [length](std::byte* p) { munmap(p, length); });
}

void run_memcpy(benchmark::State& state, const Case& c) {
  if (!may_run(state, c)) return;
  const auto start = std::chrono::steady_clock::now();
  const memo::Frame source = make_frame(c.rows, c.seed);
  const std::uint64_t expected = checksum(source);
  const bool fresh = c.phase == "fresh";
  memo::Frame warm;
  if (!fresh) warm = source;  // a deep copy: its pages are written once, before the loop
  for (auto _ : state) {
    std::vector<memo::ByteOwner> blocks;
    for (const auto& column : source.columns()) {
      blocks.push_back(fresh ? fresh_mapping(column.size_bytes()) : nullptr);
      std::byte* destination = fresh ? blocks.back().get()
                                     : warm.column(column.name()).bytes().data();
      memo::copy_bytes(destination, column.bytes().data(), column.size_bytes());
    }
    state.PauseTiming();
    memo::Frame copied;
    if (fresh) {
      for (std::size_t i = 0; i < blocks.size(); ++i) {
        const auto& column = source.columns()[i];
        copied.adopt(memo::Column(column.name(), column.dtype(), column.rows(), blocks[i]));
      }
    }
    const bool ok = verify(state, checksum(fresh ? copied : warm), expected, "memcpy");
    copied = memo::Frame();
    blocks.clear();  // unmapped untimed
    if (!ok) break;
    state.ResumeTiming();
  }
  finish(state, c, start);
}

memo::DataOptions data_options(const Case& c) {
  return {.name = c.name(),
          .store = c.store,
          .store_url = is_remote(c.store) ? redis_server() : std::string(),
          .show_spinner = false,
          .copy = c.strategy == "cache_data_cow" ? memo::Copy::cow : memo::Copy::serialize};
}

// Caches live for the process: each run empties its cache on the way out (every way
// out), or the frames of every size would stay in memory for the rest of the run.
template <class Cached>
struct Emptied {
  const Cached& cached;
  ~Emptied() { cached.clear(); }
};

void run_data_first(benchmark::State& state, const Case& c) {
  if (!may_run(state, c)) return;
  const auto start = std::chrono::steady_clock::now();
  memo::Frame pending = make_frame(c.rows, c.seed);
  const std::uint64_t expected = checksum(pending);
  bool time_body = true;
  std::chrono::nanoseconds body{0};
  auto cached = memo::cache_data(
      [&](std::uint64_t /*rows*/) {
        using Clock = std::chrono::steady_clock;
        const Clock::time_point t0 = time_body ? Clock::now() : Clock::time_point{};
        memo::Frame handed = std::move(pending);
        if (time_body) body = Clock::now() - t0;
        return handed;
      },
      data_options(c));
  const Emptied<decltype(cached)> emptied{cached};
  // Warm-up, untimed: one miss, which also times the function's body. (A hit is not
  // checked here: its copy would be a third frame; the subsequent phases check hits.)
  memo::Frame result = cached(c.rows);
  time_body = false;
  if (!verify(state, checksum(result), expected, "warm-up miss")) return;
  cached.clear();
  pending = std::move(result);
  for (auto _ : state) {
    result = cached(c.rows);
    state.PauseTiming();
    const bool ok = verify(state, checksum(result), expected, "value returned by a miss");
    cached.clear();
    pending = std::move(result);
    if (!ok) break;
    state.ResumeTiming();
  }
  state.counters["function_ns"] = static_cast<double>(body.count());
  finish(state, c, start);
}

void run_data_subsequent(benchmark::State& state, const Case& c) {
  if (!may_run(state, c)) return;
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t expected = 0;
  auto cached = memo::cache_data([&c](std::uint64_t rows) { return make_frame(rows, c.seed); },
                                 data_options(c));
  const Emptied<decltype(cached)> emptied{cached};
  {
    const memo::Frame computed = cached(c.rows);  // the miss, untimed
    expected = checksum(computed);
  }
  if (!verify(state, checksum(cached(c.rows)), expected, "warm-up hit")) return;
  const bool scan = c.phase == "subsequent_scan";
  memo::Frame result;
  for (auto _ : state) {
    result = cached(c.rows);
    std::uint64_t sum = scan ? checksum(result) : 0;
    state.PauseTiming();
    if (!scan) sum = checksum(result);
    result = memo::Frame();  // the rerun drops its copy, untimed
    if (!verify(state, sum, expected, "value returned by a hit")) break;
    state.ResumeTiming();
  }
  finish(state, c, start);
}

memo::ResourceOptions<memo::Frame> resource_options(const Case& c) {
  return {.name = c.name(), .store = c.store, .show_spinner = false};
}

void run_resource(benchmark::State& state, const Case& c) {
  if (!may_run(state, c)) return;
  const auto start = std::chrono::steady_clock::now();
  const auto shared = std::make_shared<memo::Frame>(make_frame(c.rows, c.seed));
  const std::uint64_t expected = checksum(*shared);
  auto cached = memo::cache_resource([&shared](std::uint64_t /*rows*/) { return shared; },
                                     resource_options(c));
  const Emptied<decltype(cached)> emptied{cached};
  const memo::Frame* const object = shared.get();
  bool same_object = cached(c.rows).get() == object;
  if (c.phase == "first") {
    cached.clear();
    for (auto _ : state) {
      std::shared_ptr<memo::Frame> handle = cached(c.rows);
      state.PauseTiming();
      same_object &= handle.get() == object;
      handle.reset();
      cached.clear();
      state.ResumeTiming();
    }
  } else if (c.phase == "subsequent") {
    for (auto _ : state) {
      same_object &= cached(c.rows).get() == object;
    }
  } else {
    for (auto _ : state) {
      const std::shared_ptr<memo::Frame> handle = cached(c.rows);
      if (!verify(state, checksum(*handle), expected, "shared object")) break;
    }
  }
  if (!same_object) state.SkipWithError("cache_resource returned another object");
  verify(state, checksum(*shared), expected, "shared object after the loop");
  finish(state, c, start);
}

void run_case(benchmark::State& state, const Case& c) {
  try {
    if (c.strategy == "memcpy") run_memcpy(state, c);
    else if (c.strategy == "cache_resource") run_resource(state, c);
    else if (c.phase == "first") run_data_first(state, c);
    else run_data_subsequent(state, c);
  } catch (const std::exception& error) {
    memo_bench::progress(c.name() + ": failed: " + error.what());
    state.SkipWithError(error.what());
  }
}

void register_case(const Case& c) {
  memo_bench::register_benchmark(c.name(), [c](benchmark::State& state) { run_case(state, c); })
      ->UseRealTime()
      ->Iterations(iterations_for(c))
      ->Unit(unit_for(c));
}

std::vector<std::string> checked_list(const std::vector<std::string>& wanted,
                                      const std::vector<std::string>& known, const char* what) {
  std::string names;
  for (const auto& k : known) names += (names.empty() ? "" : ", ") + k;
  for (const auto& w : wanted) {
    if (std::find(known.begin(), known.end(), w) == known.end()) {
      throw std::invalid_argument(std::string("unknown ") + what + " '" + w + "'; known: " + names);
    }
  }
  if (wanted.empty()) throw std::invalid_argument(std::string("no ") + what + " given");
  return wanted;
}

// --stores (see the header): auto, all, or a list of engine names; memo's in-process
// engines (the redis store has rows of its own, registered in main).
std::vector<std::string> stores_at(const std::string& flag, std::uint64_t rows,
                                   std::uint64_t smallest) {
  std::vector<std::string> known;
  for (const auto& engine : memo::store_engines()) {
    if (!engine.remote) known.emplace_back(engine.name);
  }
  if (flag == "all") return known;
  if (flag == "auto") return rows == smallest ? known : std::vector<std::string>{"mutex_map"};
  std::vector<std::string> wanted;
  std::stringstream items(flag);
  for (std::string item; std::getline(items, item, ',');) {
    if (!item.empty()) wanted.push_back(item);
  }
  return checked_list(wanted, known, "store");
}

}  // namespace

int main(int argc, char** argv) {
  memo_bench::Flags flags({
      {"rows", "10M,50M,100M,200M", "frame sizes in rows, comma-separated (k, M, G suffixes)",
       memo_bench::counts(1, kMaxRows)},
      {"stores", "auto",
       "engines: auto (all at the smallest size, mutex_map at the others), all, or a list"},
      {"strategies", "cache_data,cache_data_cow,cache_resource", "copy strategies to run, comma-separated"},
      {"seed", "20240611", "seed of the frames' values (recorded in the JSON context)",
       memo_bench::count(0, UINT64_MAX)},
      {"block_pool", "on", "on, or off: freed large blocks are unmapped, so every copy lands in fresh memory",
       memo_bench::one_of({"on", "off"})},
      {"references", "on", "on or off: the memcpy fresh/warm reference rows", memo_bench::one_of({"on", "off"})},
      {"redis_url", "", "server of the redis rows (redis://host:port/db); empty: $MEMO_REDIS_URL, "
                        "and without either they are skipped"},
      {"redis_max_rows", "0",
       "largest size with redis rows (k, M, G suffixes); larger sizes report them skipped; 0: no limit",
       memo_bench::count(0, kMaxRows)},
  });
  if (!memo_bench::initialize(argc, argv, flags)) return 2;
  try {
    const std::vector<std::uint64_t> sizes = flags.integers("rows");
    const auto strategies = checked_list(flags.list("strategies"), kStrategies, "strategy");
    const std::uint64_t seed = memo_bench::parse_count(flags.get("seed"));
    const std::string pool = flags.get("block_pool");
    if (pool == "off") memo::set_block_pool_limit(0);
    const std::string references = flags.get("references");
    const std::uint64_t redis_max_rows = memo_bench::parse_count(flags.get("redis_max_rows"));
    redis_server() = flags.get("redis_url");
    if (redis_server().empty()) {
      if (const char* env = std::getenv("MEMO_REDIS_URL"); env && *env) redis_server() = env;
    }
    std::string remote;
    for (const auto& engine : memo::store_engines()) {
      if (engine.remote) remote = engine.name;
    }
    if (!remote.empty() && redis_server().empty()) {
      memo_bench::progress("skipping the " + remote + " rows: no server given (--redis_url or MEMO_REDIS_URL)");
    }
    const std::uint64_t smallest = *std::min_element(sizes.begin(), sizes.end());
    for (std::uint64_t rows : sizes) stores_at(flags.get("stores"), rows, smallest);  // validates

    benchmark::AddCustomContext("rows_seed", std::to_string(seed));
    benchmark::AddCustomContext("rows_block_pool",
                                pool + " (limit " + gib(memo::block_pool_limit()) + ")");
    benchmark::AddCustomContext("rows_cow_available", memo::cow::available() ? "yes" : "no");
    for (std::uint64_t rows : sizes) {
      if (references == "on") {
        register_case({"memcpy", "fresh", "", rows, seed});
        register_case({"memcpy", "warm", "", rows, seed});
      }
      for (const auto& store : stores_at(flags.get("stores"), rows, smallest)) {
        for (const auto& strategy : strategies) {
          for (const auto& phase : kPhases) register_case({strategy, phase, store, rows, seed});
        }
      }
      const bool data_wanted = std::find(strategies.begin(), strategies.end(), "cache_data") != strategies.end();
      if (!remote.empty() && !redis_server().empty() && data_wanted) {
        std::string skipped_because;
        if (redis_max_rows != 0 && rows > redis_max_rows) {
          skipped_because = "above --redis_max_rows=" + flags.get("redis_max_rows");
        }
        for (const char* phase : {"first", "subsequent"}) {
          register_case({"cache_data", phase, remote, rows, seed, skipped_because});
        }
      }
    }
  } catch (const std::exception& error) {
    std::cerr << argv[0] << ": " << error.what() << " (" << argv[0] << " --help lists every flag)\n";
    return 2;
  }
  return memo_bench::run();
}
