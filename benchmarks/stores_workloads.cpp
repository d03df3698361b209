#include "stores_workloads.h"

#include <algorithm>
#include <bit>
#include <optional>

#include "support/zipf.h"  // tests/support: one Zipf generator for tests and benchmarks

namespace memo_bench {

const std::vector<Workload>& all_workloads() {
  static const std::vector<Workload> workloads = {
      {"read_heavy_zipf", Level::engine, KeyPick::zipf, 0.05, false, true},
      {"read_heavy_uniform", Level::engine, KeyPick::uniform, 0.05, false, true},
      {"mixed_zipf", Level::engine, KeyPick::zipf, 0.5, false, false},
      {"mixed_uniform", Level::engine, KeyPick::uniform, 0.5, false, false},
      {"hot_key", Level::engine, KeyPick::single, 0.0, false, false},
      {"eviction_zipf", Level::engine, KeyPick::zipf, 0.0, true, false},
      {"eviction_uniform", Level::engine, KeyPick::uniform, 0.0, true, false},
      {"resource_read_heavy_zipf", Level::resource, KeyPick::zipf, 0.05, false, true},
      {"resource_read_heavy_uniform", Level::resource, KeyPick::uniform, 0.05, false, true},
      {"resource_hot_key", Level::resource, KeyPick::single, 0.0, false, false},
  };
  return workloads;
}

std::vector<std::uint32_t> make_op_stream(const Workload& workload, std::uint32_t keys,
                                          double zipf_exponent, std::uint64_t seed) {
  // Each workload gets its own stream, derived from the run's seed and its name.
  for (char c : workload.name) seed = (seed ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  memo_test::SplitMix64 rng(seed);
  std::optional<memo_test::ZipfGenerator> zipf;
  if (workload.keys == KeyPick::zipf) zipf.emplace(keys, zipf_exponent, seed ^ 0x7a697066ULL);
  const auto replace_threshold =
      static_cast<std::uint64_t>(workload.replace_fraction * static_cast<double>(1ULL << 53));

  std::vector<std::uint32_t> ops(stream_length(keys));
  for (auto& op : ops) {
    std::uint32_t index = 0;
    switch (workload.keys) {
      case KeyPick::zipf: index = static_cast<std::uint32_t>(zipf->next()); break;
      case KeyPick::uniform: index = static_cast<std::uint32_t>(rng.next_below(keys)); break;
      case KeyPick::single: index = 0; break;
    }
    const bool replace = (rng.next() >> 11) < replace_threshold;
    op = index | (replace ? kReplaceBit : 0u);
  }
  return ops;
}

std::vector<memo::Key> make_keys(std::uint32_t count, std::uint64_t seed) {
  memo_test::SplitMix64 rng(seed ^ 0x6b65797300000000ULL);
  std::vector<memo::Key> keys(count);
  for (auto& key : keys) key = memo::Key{rng.next(), rng.next()};
  return keys;
}

std::size_t stream_length(std::uint32_t keys) {
  return std::bit_ceil(std::clamp<std::size_t>(std::size_t{8} * keys, std::size_t{1} << 16,
                                               std::size_t{1} << 23));
}

}  // namespace memo_bench
