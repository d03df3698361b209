// Inputs and checks of memo_rows (benchmarks/rows.cpp): the guide's 4-column float64
// table, a checksum that reads every value once, and the memory each benchmark needs.
#pragma once

#include <cstdint>
#include <string>

#include "memo/frame.h"

namespace memo_rows {

inline constexpr int kColumns = 4;

// Bytes of the 4-column float64 frame (the guide's DataFrame) with `rows` rows.
std::uint64_t frame_bytes(std::uint64_t rows);

// A frame of `rows` rows: columns col0..col3 of uniform doubles in [0, 1), value (c, r)
// derived from (seed, c, r) alone, so every run with one seed builds the same table.
// Filled by every core (generation is outside every timed region).
memo::Frame make_frame(std::uint64_t rows, std::uint64_t seed);

// Reads every value once (bandwidth bound, ~10 GB/s here, twice XXH3's 5.3 GB/s) and
// is position sensitive: per column the sum of (bits(value[i]) xor i), chained over
// columns in order with their names. A changed, moved or lost value changes it.
std::uint64_t checksum(const memo::Frame& frame);

// The bytes a benchmark holds at its peak, as a multiple of frame_bytes, and why.
struct MemoryNeed {
  double frames;
  const char* why;
};
MemoryNeed memory_need(const std::string& strategy, const std::string& phase);

// Headroom kept free on top of the need: the OS, the pool's bookkeeping, other users.
inline constexpr std::uint64_t kHeadroomBytes = std::uint64_t{1} << 30;

std::string gib(std::uint64_t bytes);

}  // namespace memo_rows
