#include "stores_workloads.h"

#include <algorithm>
#include <bit>
#include <optional>
#include <stdexcept>
#include <string>

#include "support/zipf.h"  // tests/support: one Zipf generator for tests and benchmarks

namespace memo_bench {

const std::vector<Workload>& all_workloads() {
  //  name, level, keys, replace, insert, erase, bounded, latency, capacity, custom
  static const std::vector<Workload> workloads = {
      {"read_heavy_zipf", Level::engine, KeyPick::zipf, 0.05, 0, 0, false, true, 0, false},
      {"read_heavy_uniform", Level::engine, KeyPick::uniform, 0.05, 0, 0, false, true, 0, false},
      {"mixed_zipf", Level::engine, KeyPick::zipf, 0.5, 0, 0, false, false, 0, false},
      {"mixed_uniform", Level::engine, KeyPick::uniform, 0.5, 0, 0, false, false, 0, false},
      {"hot_key", Level::engine, KeyPick::single, 0.0, 0, 0, false, false, 0, false},
      {"eviction_zipf", Level::engine, KeyPick::zipf, 0.0, 0, 0, true, false, 0, false},
      {"eviction_uniform", Level::engine, KeyPick::uniform, 0.0, 0, 0, true, false, 0, false},
      {"resource_read_heavy_zipf", Level::resource, KeyPick::zipf, 0.05, 0, 0, false, true, 0, false},
      {"resource_read_heavy_uniform", Level::resource, KeyPick::uniform, 0.05, 0, 0, false, true, 0,
       false},
      {"resource_hot_key", Level::resource, KeyPick::single, 0.0, 0, 0, false, false, 0, false},
  };
  return workloads;
}

Workload custom_workload(const std::string& mix, KeyPick keys, std::size_t capacity) {
  std::vector<std::uint64_t> percent;
  std::size_t begin = 0;
  while (begin <= mix.size()) {
    const std::size_t end = std::min(mix.find(',', begin), mix.size());
    const std::string part = mix.substr(begin, end - begin);
    std::size_t used = 0;
    unsigned long value = 0;
    try {
      if (part.empty() || part[0] < '0' || part[0] > '9') throw std::invalid_argument(part);
      value = std::stoul(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != part.size() || value > 100) {
      throw std::invalid_argument("--mix takes GET,INSERT,ERASE percentages (e.g. 90,5,5); '" +
                                  part + "' is not a percentage");
    }
    percent.push_back(value);
    begin = end + 1;
  }
  if (percent.size() != 3 || percent[0] + percent[1] + percent[2] != 100) {
    throw std::invalid_argument("--mix takes three percentages GET,INSERT,ERASE summing to 100, got '" +
                                mix + "'");
  }
  const std::string pick = keys == KeyPick::zipf ? "zipf" : "uniform";
  Workload w{"custom_" + pick,
             Level::engine,
             keys,
             0.0,
             static_cast<double>(percent[1]) / 100.0,
             static_cast<double>(percent[2]) / 100.0,
             capacity != 0,
             true,
             capacity,
             true};
  return w;
}

std::vector<std::uint32_t> make_op_stream(const Workload& workload, std::uint32_t keys,
                                          double zipf_exponent, std::uint64_t seed) {
  // Each workload gets its own stream, derived from the run's seed and its name.
  for (char c : workload.name) seed = (seed ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  memo_test::SplitMix64 rng(seed);
  std::optional<memo_test::ZipfGenerator> zipf;
  if (workload.keys == KeyPick::zipf) zipf.emplace(keys, zipf_exponent, seed ^ 0x7a697066ULL);
  auto threshold = [](double fraction) {
    return static_cast<std::uint64_t>(fraction * static_cast<double>(1ULL << 53));
  };
  // Cumulative: an op is a replace below the first threshold, an insert below the
  // second, an erase below the third, else a get.
  const std::uint64_t replace_below = threshold(workload.replace_fraction);
  const std::uint64_t insert_below = threshold(workload.replace_fraction + workload.insert_fraction);
  const std::uint64_t erase_below =
      threshold(workload.replace_fraction + workload.insert_fraction + workload.erase_fraction);

  std::vector<std::uint32_t> ops(stream_length(keys));
  for (auto& op : ops) {
    std::uint32_t index = 0;
    switch (workload.keys) {
      case KeyPick::zipf: index = static_cast<std::uint32_t>(zipf->next()); break;
      case KeyPick::uniform: index = static_cast<std::uint32_t>(rng.next_below(keys)); break;
      case KeyPick::single: index = 0; break;
    }
    const std::uint64_t dice = rng.next() >> 11;
    Op kind = Op::get;
    if (dice < replace_below) kind = Op::replace;
    else if (dice < insert_below) kind = Op::insert;
    else if (dice < erase_below) kind = Op::erase;
    op = index | (static_cast<std::uint32_t>(kind) << kOpShift);
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
