#include "rows_inputs.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <thread>
#include <vector>

namespace memo_rows {
namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::uint64_t mix(std::uint64_t h, std::uint64_t v) { return splitmix64(h ^ v); }

}  // namespace

std::uint64_t frame_bytes(std::uint64_t rows) { return rows * kColumns * sizeof(double); }

memo::Frame make_frame(std::uint64_t rows, std::uint64_t seed) {
  memo::Frame frame;
  for (int c = 0; c < kColumns; ++c) {
    frame.add_uninitialized("col" + std::to_string(c), memo::DType::f64, rows);
  }
  const unsigned workers = std::max(1u, std::thread::hardware_concurrency());
  auto fill = [&](unsigned worker) {
    const std::uint64_t begin = rows * worker / workers, end = rows * (worker + 1) / workers;
    for (int c = 0; c < kColumns; ++c) {
      auto values = frame.columns()[static_cast<std::size_t>(c)].values<double>();
      const std::uint64_t stream = seed ^ (static_cast<std::uint64_t>(c) << 56);
      for (std::uint64_t r = begin; r < end; ++r) {
        values[r] = static_cast<double>(splitmix64(stream + r) >> 11) * 0x1.0p-53;
      }
    }
  };
  std::vector<std::thread> helpers;
  for (unsigned w = 1; w < workers; ++w) helpers.emplace_back(fill, w);
  fill(0);
  for (auto& helper : helpers) helper.join();
  return frame;
}

std::uint64_t checksum(const memo::Frame& frame) {
  std::uint64_t h = mix(0, frame.rows());
  for (const auto& column : frame.columns()) {
    for (char ch : column.name()) h = mix(h, static_cast<unsigned char>(ch));
    auto values = column.values<double>();
    // Two independent sums so the loop vectorizes and is bound by memory, not latency.
    std::uint64_t even = 0, odd = 0;
    const std::size_t n = values.size();
    std::size_t i = 0;
    for (; i + 1 < n; i += 2) {
      even += std::bit_cast<std::uint64_t>(values[i]) ^ i;
      odd += std::bit_cast<std::uint64_t>(values[i + 1]) ^ (i + 1);
    }
    if (i < n) even += std::bit_cast<std::uint64_t>(values[i]) ^ i;
    h = mix(mix(h, even), odd);
  }
  return h;
}

MemoryNeed memory_need(const std::string& strategy, const std::string& phase) {
  if (strategy == "cache_resource") return {1, "the one shared frame"};
  if (strategy == "memcpy") return {2, "source frame + destination"};
  if (strategy == "cache_data_cow") {
    // A mapped copy adds no pages until written; the peak is while storing.
    return {2, "the computed frame + the sealed file"};
  }
  if (phase == "first") return {2, "the returned frame + the stored payload"};
  return {2, "the stored payload + the caller's copy"};
}

std::string gib(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / (1ull << 30));
  return text;
}

}  // namespace memo_rows
