#include "stores_run.h"

#include <fcntl.h>
#include <malloc.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>

#include "adapters/engine.h"
#include "bench_main.h"
#include "memo/cache.h"

namespace memo_bench {
namespace {

using Clock = std::chrono::steady_clock;

struct ResourceObject {
  std::uint64_t id;
};
struct MakeResource {
  std::shared_ptr<ResourceObject> operator()(std::uint64_t id) const {
    return std::make_shared<ResourceObject>(ResourceObject{id});
  }
};
using ResourceCache = decltype(memo::cache_resource(MakeResource{}));

// What one thread counted; merged into the run's total when the thread finishes.
struct Tally {
  std::uint64_t gets = 0;
  std::uint64_t hits = 0;
  std::uint64_t wrong_entries = 0;  // a get returned the entry of another key
  std::vector<std::uint32_t> latencies_ns;

  void merge(const Tally& other) {
    gets += other.gets;
    hits += other.hits;
    wrong_entries += other.wrong_entries;
    latencies_ns.insert(latencies_ns.end(), other.latencies_ns.begin(), other.latencies_ns.end());
  }
};

// A thread's read position in a workload's stream (stores_workloads.h), as a ring.
struct Cursor {
  const std::uint32_t* ops;
  std::size_t length;
  std::size_t position;  // in [0, length)

  std::uint32_t next() {
    const std::uint32_t op = ops[position];
    if (++position == length) position = 0;
    return op;
  }
};

// A workload's operations and where the last run stopped reading them.
struct Stream {
  std::vector<std::uint32_t> ops;
  std::size_t head = 0;
  std::size_t run_start = 0;  // `head` when the current run began

  Cursor cursor(int thread_index, std::uint64_t iterations) const {
    const std::size_t offset = (run_start + static_cast<std::size_t>(thread_index) * iterations);
    return Cursor{ops.data(), ops.size(), offset % ops.size()};
  }
  void advance(int threads, std::uint64_t iterations) {
    head = (run_start + static_cast<std::size_t>(threads) * iterations) % ops.size();
  }
};

// When one thread of a run did its first and its last operation.
//
// Why the benchmark keeps its own clock: Google Benchmark stops each thread's timer
// when that thread finishes and reports the average over threads. With more threads
// than cores they finish at very different times, so that average understates the
// run's wall time (by up to half; measured: 127 ms reported for a 254 ms run of two
// uneven threads) and ops/s overstates throughput. The run's wall time, from the first
// operation of any thread to the last of any, is what every thread reports instead, as
// its manual time (UseManualTime), which the average then leaves intact.
struct Span {
  Clock::time_point first{};
  Clock::time_point last{};
};

// Everything the threads of a run share. Runs follow one another, never overlap, so
// one instance serves the whole process; `mu` orders the first arrival's set-up
// before every other thread's use of it.
struct Shared {
  std::mutex mu;
  // The prefilled engine or cache, kept across runs with the same identity.
  std::string built;
  std::unique_ptr<Engine> engine;
  std::optional<ResourceCache> cache;
  std::size_t capacity = 0;
  double bytes_per_entry = 0;  // 0: not measured for this build
  std::string error;
  std::vector<memo::Key> keys;
  std::map<std::string, Stream> streams;
  std::string announced;
  // The latest run's histogram (--latency_histogram): Google Benchmark runs a benchmark
  // several times while it sizes the iteration count, so only the last is printed, when
  // the next benchmark begins or the suite ends.
  std::string histogram;
  // The run in progress.
  std::vector<Span> spans;  // one per thread, each written only by its thread
  int arrived = 0;
  int warmed = 0;
  int finished = 0;
  Tally total;
  memo::CacheStats stats_at_start;
};

std::atomic<std::uint64_t> failed_runs{0};

void fail(benchmark::State& state, const std::string& error) {
  failed_runs.fetch_add(1, std::memory_order_relaxed);
  state.SkipWithError(error.c_str());
}

Shared& shared() {
  static Shared instance;
  return instance;
}

// Resident memory of the process (Linux /proc/self/statm), for bytes_per_entry.
std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t total_pages = 0;
  std::size_t resident_pages = 0;
  statm >> total_pages >> resident_pages;
  return resident_pages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// A server's memory is not this process's.
bool is_remote(const std::string& engine) {
  for (const auto& info : engine_infos()) {
    if (info.name == engine) return info.remote;
  }
  return false;
}

std::string identity(const Workload& workload, const std::string& engine) {
  // Unbounded workloads share a prefilled engine (every key present, whatever the mix);
  // a bounded one is warmed with its own key distribution, and a custom mix, whose
  // inserts and erases change which keys are present, gets an engine of its own.
  if (workload.bounded || workload.custom) return engine + "/engine/" + workload.name;
  return engine + (workload.level == Level::resource ? "/resource" : "/engine") + "/all_keys";
}

void build(Shared& s, const Workload& workload, const std::string& engine,
           const StoresSettings& settings) {
  s.engine.reset();
  if (s.cache) s.cache->clear();  // caches live for the process: empty it, not just drop it
  s.cache.reset();
  s.error.clear();
  s.built = identity(workload, engine);
  s.capacity = !workload.bounded       ? 0
               : workload.capacity != 0 ? workload.capacity
                                        : std::max<std::size_t>(settings.keys / 10, 1);
  s.bytes_per_entry = 0;
  if (workload.level == Level::engine && !workload.bounded && !is_remote(engine)) {
    progress("measure " + engine + "'s bytes per entry in a fresh process");
    s.bytes_per_entry = measure_bytes_per_entry(engine, settings);
  }
  const auto start = std::chrono::steady_clock::now();
  progress("prefill " + s.built + " (" + std::to_string(settings.keys) + " keys)");
  // Every engine starts from a heap without the free chunks the previous one left
  // scattered (the prefill would fill them, and its entries land far apart).
  ::malloc_trim(0);
  try {
    if (workload.level == Level::engine) {
      s.engine = make_engine(engine, {.capacity = s.capacity,
                                      .expected_entries = settings.keys,
                                      .value_bytes = settings.value_bytes});
      if (workload.bounded) {
        // Steady state before timing: a pass over a stream of the same distribution
        // (80 times the capacity), with another seed than the timed stream's, so what
        // the warm-up leaves cached says nothing about what the timed runs read first.
        const auto warm_up = make_op_stream(workload, settings.keys, settings.zipf_exponent,
                                            ~settings.seed);
        memo::Key found;
        for (std::uint32_t op : warm_up) {
          const memo::Key& key = s.keys[op & kIndexMask];
          if (!s.engine->get(key, found)) s.engine->insert(key);
        }
      } else {
        for (const auto& key : s.keys) s.engine->insert(key);
      }
    } else {
      s.cache.emplace(memo::cache_resource(
          MakeResource{}, {.name = "memo_stores.resource", .store = engine, .show_spinner = false}));
      for (std::uint64_t id = 0; id < settings.keys; ++id) (*s.cache)(id);
    }
  } catch (const std::exception& e) {
    s.engine.reset();
    s.cache.reset();
    s.error = "cannot build " + s.built + ": " + e.what();
    progress(s.error);
    return;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::ostringstream done;
  done << "prefilled " << s.built << " in " << seconds << " s";
  progress(done.str());
}

// Called by every thread before its timed loop.
void arrive(const std::string& name, const Workload& workload, const std::string& engine,
            int threads, const StoresSettings& settings) {
  Shared& s = shared();
  std::lock_guard lock(s.mu);
  if (s.arrived++ > 0) return;
  s.spans.assign(static_cast<std::size_t>(threads), Span{});
  if (s.keys.size() != settings.keys) s.keys = make_keys(settings.keys, settings.seed);
  Stream& stream = s.streams[workload.name];
  if (stream.ops.empty()) {
    stream.ops = make_op_stream(workload, settings.keys, settings.zipf_exponent, settings.seed);
  }
  stream.run_start = stream.head;
  if (s.built != identity(workload, engine)) build(s, workload, engine, settings);
  s.total = Tally{};
  s.warmed = 0;
  if (s.announced != name) {
    std::cerr << s.histogram;
    s.histogram.clear();
    s.announced = name;
    progress(name);
  }
}

// Samples one operation in `every` (0 = none) without a clock read on the others.
class Sampler {
 public:
  Sampler(std::uint64_t every, bool enabled, Tally& tally)
      : every_(enabled && every > 0 ? every : std::numeric_limits<std::uint64_t>::max()),
        countdown_(every_), tally_(tally) {}

  template <class Op>
  void run(Op&& op) {
    if (--countdown_ != 0) {
      op();
      return;
    }
    countdown_ = every_;
    const auto start = std::chrono::steady_clock::now();
    op();
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - start).count();
    tally_.latencies_ns.push_back(static_cast<std::uint32_t>(
        std::min<std::int64_t>(ns, std::numeric_limits<std::uint32_t>::max())));
  }

 private:
  const std::uint64_t every_;
  std::uint64_t countdown_;
  Tally& tally_;
};

void engine_loop(benchmark::State& state, const Workload& workload, Engine& engine,
                 const std::vector<memo::Key>& keys, Cursor& ops, const StoresSettings& settings,
                 Tally& tally, Span& span) {
  Sampler sampler(settings.latency_every, workload.latency, tally);
  memo::Key found;
  benchmark::IterationCount done = 0;
  for (auto _ : state) {
    if (done == 0) span.first = Clock::now();
    const std::uint32_t op = ops.next();
    const memo::Key& key = keys[op & kIndexMask];
    sampler.run([&] {
      switch (op_of(op)) {
        case Op::get:
          ++tally.gets;
          if (engine.get(key, found)) {
            ++tally.hits;
            tally.wrong_entries += found != key;
          } else if (workload.bounded) {
            engine.insert(key);
          }
          return;
        case Op::replace: engine.replace(key); return;
        case Op::insert: engine.insert(key); return;
        case Op::erase: engine.erase(key); return;
      }
    });
    if (++done == state.max_iterations) span.last = Clock::now();
  }
}

void resource_loop(benchmark::State& state, const Workload& workload, const ResourceCache& cache,
                   Cursor& ops, const StoresSettings& settings, Tally& tally, Span& span) {
  Sampler sampler(settings.latency_every, workload.latency, tally);
  benchmark::IterationCount done = 0;
  for (auto _ : state) {
    if (done == 0) span.first = Clock::now();
    const std::uint32_t op = ops.next();
    const std::uint64_t id = op & kIndexMask;
    sampler.run([&] {
      if (op_of(op) == Op::replace) cache.clear(id);
      ++tally.gets;
      tally.wrong_entries += cache(id)->id != id;
    });
    if (++done == state.max_iterations) span.last = Clock::now();
  }
}

// Google Benchmark starts fresh threads for every run, and a thread's first call into
// an engine can pay one-time set-up (libcds attaches the thread to its hazard-pointer
// domain, thread-local buffers get allocated): measured at up to ~8 ms per thread for
// cds_map, enough to swamp a run. One untimed get per thread keeps it out.
void warm_up_thread(const Workload& workload, Shared& s) {
  if (workload.level == Level::engine) {
    memo::Key found;
    s.engine->get(s.keys[0], found);
  } else {
    (*s.cache)(0);
  }
}

// Called after the loop, when every thread has passed Google Benchmark's closing barrier
// and so has written its span.
double run_seconds(const std::vector<Span>& spans) {
  Clock::time_point first = Clock::time_point::max();
  Clock::time_point last = Clock::time_point::min();
  for (const Span& span : spans) {
    if (span.last == Clock::time_point{}) continue;  // a skipped thread ran nothing
    first = std::min(first, span.first);
    last = std::max(last, span.last);
  }
  return first < last ? std::chrono::duration<double>(last - first).count() : 0.0;
}

double percentile(std::vector<std::uint32_t>& samples, double fraction) {
  const auto rank = static_cast<std::size_t>(fraction * static_cast<double>(samples.size() - 1));
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(rank),
                   samples.end());
  return samples[rank];
}

// Sampled latencies in power-of-two buckets: counters le_<N>ns (samples of at most N ns)
// in the JSON, and the histogram, with its maximum, as text for stderr.
void report_histogram(benchmark::State& state, const std::vector<std::uint32_t>& samples,
                      const std::string& name, std::string& text) {
  std::vector<std::uint64_t> buckets(33, 0);  // bucket b: at most 2^b ns (b >= 6)
  std::uint32_t max = 0;
  for (const std::uint32_t ns : samples) {
    const int bucket = std::max(6, static_cast<int>(std::bit_width(ns > 0 ? ns - 1 : 0u)));
    ++buckets[static_cast<std::size_t>(bucket)];
    max = std::max(max, ns);
  }
  std::ostringstream out;
  out << "latency histogram " << name << " (" << samples.size() << " samples, max " << max
      << " ns)\n";
  std::uint64_t cumulative = 0;
  for (std::size_t b = 6; b < buckets.size(); ++b) {
    if (buckets[b] == 0) continue;
    cumulative += buckets[b];
    const std::uint64_t upper = std::uint64_t{1} << b;
    state.counters["le_" + std::to_string(upper) + "ns"] = static_cast<double>(buckets[b]);
    const double share = static_cast<double>(buckets[b]) / static_cast<double>(samples.size());
    out << "  <= " << std::setw(11) << upper << " ns " << std::setw(9) << buckets[b] << "  "
        << std::fixed << std::setprecision(2) << std::setw(6) << 100.0 * share << "%  cum "
        << std::setw(6)
        << 100.0 * static_cast<double>(cumulative) / static_cast<double>(samples.size()) << "%  "
        << std::string(static_cast<std::size_t>(share * 50.0 + 0.5), '#') << "\n";
  }
  text = out.str();
}

// Under uniform keys no policy can hit more often than the fraction of keys it holds,
// capacity / keys; more (beyond six standard deviations of the binomial count) means
// the engine holds more than its capacity or the benchmark replays what it just stored.
bool above_capacity_fraction(std::uint64_t hits, std::uint64_t gets, std::size_t capacity,
                             std::uint32_t keys) {
  const double p = static_cast<double>(capacity) / keys;
  const double n = static_cast<double>(gets);
  return static_cast<double>(hits) > n * p + 6.0 * std::sqrt(n * p * (1.0 - p)) + 6.0;
}

// Tells a lost entry from a miscounted one after the cache's entry count came out
// wrong: calls every key once and counts the calls that found nothing.
std::string probe_every_key(const ResourceCache& cache, std::uint32_t keys) {
  const memo::CacheStats before = cache.stats();
  for (std::uint64_t id = 0; id < keys; ++id) cache(id);
  const memo::CacheStats after = cache.stats();
  return "calling every key then found " + std::to_string(after.misses - before.misses) +
         " missing and left the count at " + std::to_string(after.entries);
}

// The last thread of a run: checks the run and sets the run-wide counters.
void conclude(benchmark::State& state, Shared& s, const Workload& workload,
              const StoresSettings& settings, const std::string& name) {
  if (!s.error.empty()) {
    fail(state, s.error);
    return;
  }
  Tally& t = s.total;
  std::uint64_t hits = t.hits;
  std::uint64_t gets = t.gets;
  std::size_t stored = 0;
  bool one_entry_per_key = true;
  if (s.cache) {
    const memo::CacheStats now = s.cache->stats();
    hits = now.hits - s.stats_at_start.hits;
    gets = hits + (now.misses - s.stats_at_start.misses) +
           (now.coalesced - s.stats_at_start.coalesced);
    stored = static_cast<std::size_t>(now.entries);
  } else {
    stored = s.engine->size();
    one_entry_per_key = s.engine->one_entry_per_key();
  }
  std::string error;
  if (t.wrong_entries > 0) {
    error = std::to_string(t.wrong_entries) + " gets returned the entry of another key";
  } else if (workload.keeps_every_key() && workload.replace_fraction == 0 &&
             workload.insert_fraction == 0 && hits != gets) {
    error = std::to_string(gets - hits) + " misses on keys that were never removed";
  } else if (workload.bounded && workload.keys == KeyPick::uniform &&
             above_capacity_fraction(hits, gets, s.capacity, settings.keys)) {
    error = "hit ratio " + std::to_string(static_cast<double>(hits) / static_cast<double>(gets)) +
            " is above what " + std::to_string(s.capacity) + " entries of " +
            std::to_string(settings.keys) + " uniform keys allow";
  } else if (workload.bounded && stored > s.capacity) {
    error = "engine holds " + std::to_string(stored) + " entries, capacity " +
            std::to_string(s.capacity);
  } else if (workload.keeps_every_key() &&
             (stored < settings.keys || (stored > settings.keys && one_entry_per_key))) {
    error = std::string(s.cache ? "the cache counts " : "engine holds ") + std::to_string(stored) +
            " entries after the run, expected " + std::to_string(settings.keys);
    if (s.cache) error += "; " + probe_every_key(*s.cache, settings.keys);
  }
  if (!error.empty()) {
    fail(state, error);
    s.built.clear();  // rebuild for the next run, so one failure does not cascade
    return;
  }
  state.counters["hit_ratio"] = gets ? static_cast<double>(hits) / static_cast<double>(gets) : 0.0;
  if (!t.latencies_ns.empty()) {
    state.counters["p50_ns"] = percentile(t.latencies_ns, 0.50);
    state.counters["p90_ns"] = percentile(t.latencies_ns, 0.90);
    state.counters["p99_ns"] = percentile(t.latencies_ns, 0.99);
    state.counters["p999_ns"] = percentile(t.latencies_ns, 0.999);
    state.counters["max_ns"] = *std::max_element(t.latencies_ns.begin(), t.latencies_ns.end());
    if (settings.latency_histogram) report_histogram(state, t.latencies_ns, name, s.histogram);
  }
  if (s.bytes_per_entry > 0) state.counters["bytes_per_entry"] = s.bytes_per_entry;
}

}  // namespace

void run_stores_benchmark(benchmark::State& state, const Workload& workload,
                          const std::string& engine, const StoresSettings& settings,
                          const std::string& name) {
  arrive(name, workload, engine, state.threads(), settings);
  Shared& s = shared();
  Stream* stream = nullptr;
  Cursor cursor{};
  Span* span = nullptr;
  {
    std::lock_guard lock(s.mu);
    span = &s.spans.at(static_cast<std::size_t>(state.thread_index()));
    stream = &s.streams.at(workload.name);
    cursor = stream->cursor(state.thread_index(), state.max_iterations);
  }
  // The engine, cache, keys and error are read without the lock: nothing changes them
  // until every thread of this run has finished.
  Tally tally;
  if (s.error.empty()) warm_up_thread(workload, s);
  {
    // The last thread to warm up counts from here: every warm-up call is behind it and
    // no timed call can start before it reaches Google Benchmark's opening barrier.
    std::lock_guard lock(s.mu);
    if (++s.warmed == state.threads() && s.cache) s.stats_at_start = s.cache->stats();
  }
  if (!s.error.empty()) {
    state.SkipWithError(s.error.c_str());
    for (auto _ : state) {
    }
  } else if (workload.level == Level::engine) {
    engine_loop(state, workload, *s.engine, s.keys, cursor, settings, tally, *span);
  } else {
    resource_loop(state, workload, *s.cache, cursor, settings, tally, *span);
  }
  state.counters["ops"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));

  std::lock_guard lock(s.mu);
  state.SetIterationTime(run_seconds(s.spans));
  s.total.merge(tally);
  if (++s.finished < state.threads()) return;
  stream->advance(state.threads(), state.max_iterations);
  conclude(state, s, workload, settings, name);
  s.arrived = 0;
  s.finished = 0;
}

std::uint64_t failed_stores_runs() { return failed_runs.load(); }

double measure_bytes_per_entry(const std::string& engine, const StoresSettings& settings) {
  const std::vector<std::string> args{"/proc/self/exe",
                                      "--memory_probe=" + engine,
                                      "--keys=" + std::to_string(settings.keys),
                                      "--seed=" + std::to_string(settings.seed),
                                      "--value_bytes=" + std::to_string(settings.value_bytes)};
  std::vector<char*> argv;
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    progress("bytes per entry of " + engine + " not measured: pipe failed");
    return 0;
  }
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  ::posix_spawn_file_actions_adddup2(&actions, out[1], STDERR_FILENO);  // shown on failure
  pid_t child = 0;
  const int spawned = ::posix_spawn(&child, argv[0], &actions, nullptr, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  std::string output;
  if (spawned == 0) {
    char buffer[4096];
    for (ssize_t n; (n = ::read(out[0], buffer, sizeof buffer)) != 0;) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      output.append(buffer, static_cast<std::size_t>(n));
    }
  }
  ::close(out[0]);
  int status = 0;
  if (spawned == 0) {
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
  }
  const std::string tag = "bytes_per_entry=";
  const std::size_t at = output.find(tag);
  if (spawned != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || at == std::string::npos) {
    progress("bytes per entry of " + engine + " not measured: the probe process failed" +
             (output.empty() ? std::string() : ":\n" + output));
    return 0;
  }
  try {
    return std::stod(output.substr(at + tag.size()));
  } catch (const std::exception&) {
    progress("bytes per entry of " + engine + " not measured: unreadable probe output");
    return 0;
  }
}

int run_memory_probe(const std::string& engine, const StoresSettings& settings) {
  try {
    const std::vector<memo::Key> keys = make_keys(settings.keys, settings.seed);
    const std::size_t before = resident_bytes();
    auto made = make_engine(engine, {.capacity = 0,
                                     .expected_entries = settings.keys,
                                     .value_bytes = settings.value_bytes});
    for (const auto& key : keys) made->insert(key);
    const std::size_t after = resident_bytes();
    const double bytes = after > before ? static_cast<double>(after - before) / settings.keys : 0.0;
    std::cout << "bytes_per_entry=" << bytes << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "memo_stores --memory_probe=" << engine << ": " << e.what() << "\n";
    return 1;
  }
}

void print_last_histogram() {
  Shared& s = shared();
  std::lock_guard lock(s.mu);
  std::cerr << s.histogram;
  s.histogram.clear();
}

}  // namespace memo_bench
