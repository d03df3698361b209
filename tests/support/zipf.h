// Deterministic Zipf-distributed ranks for tests and benchmarks (header-only).
//
// ZipfGenerator draws ranks in [0, items) with P(rank r) proportional to
// 1 / (r + 1)^theta: rank 0 is the hottest. It is the generator of Gray et al.,
// "Quickly Generating Billion-Record Synthetic Databases" (SIGMOD '94), as used by
// YCSB: O(items) set-up to sum the zeta constant, O(1) memory and O(1) per draw.
// theta = 0.99 is YCSB's default skew. Valid for 0 < theta < 1.
//
// Deterministic: the same (items, theta, seed) gives the same sequence on every run
// and platform with the same libm (it uses its own SplitMix64, not <random>'s
// implementation-defined distributions).
//
// Ranks are dense and ordered by popularity; spread them over a key space with
// scatter() so that hot keys do not share low bits (which shard- and bucket-choosing
// code would otherwise see as a pathological pattern).
#pragma once

#include <cmath>
#include <cstdint>

namespace memo_test {

// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, good enough for workloads.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 53 random bits.
  double next_unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, bound); bound > 0. Multiply-shift: bias below 2^-64 * bound.
  std::uint64_t next_below(std::uint64_t bound) {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * bound) >> 64);
  }

 private:
  std::uint64_t state_;
};

// A bijection on 64-bit values (SplitMix64's finaliser): spreads dense ranks.
inline std::uint64_t scatter(std::uint64_t rank) {
  std::uint64_t z = rank + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class ZipfGenerator {
 public:
  ZipfGenerator(std::uint64_t items, double theta, std::uint64_t seed)
      : items_(items), theta_(theta), rng_(seed) {
    zeta_n_ = zeta(items_, theta_);
    const double zeta_2 = zeta(2, theta_);
    alpha_ = 1.0 / (1.0 - theta_);
    eta_ = (1.0 - std::pow(2.0 / static_cast<double>(items_), 1.0 - theta_)) /
           (1.0 - zeta_2 / zeta_n_);
    second_threshold_ = 1.0 + std::pow(0.5, theta_);
  }

  std::uint64_t items() const { return items_; }
  double theta() const { return theta_; }

  // The next rank in [0, items).
  std::uint64_t next() {
    const double u = rng_.next_unit();
    const double uz = u * zeta_n_;
    if (uz < 1.0) return 0;
    if (uz < second_threshold_) return items_ > 1 ? 1 : 0;
    const auto rank = static_cast<std::uint64_t>(static_cast<double>(items_) *
                                                 std::pow(eta_ * u - eta_ + 1.0, alpha_));
    return rank < items_ ? rank : items_ - 1;
  }

  // Exact probability of `rank`, for checking the generator.
  double probability(std::uint64_t rank) const {
    return 1.0 / std::pow(static_cast<double>(rank + 1), theta_) / zeta_n_;
  }

 private:
  static double zeta(std::uint64_t n, double theta) {
    double sum = 0.0;
    for (std::uint64_t i = 1; i <= n; ++i) sum += 1.0 / std::pow(static_cast<double>(i), theta);
    return sum;
  }

  std::uint64_t items_;
  double theta_;
  SplitMix64 rng_;
  double zeta_n_ = 0.0;
  double alpha_ = 0.0;
  double eta_ = 0.0;
  double second_threshold_ = 0.0;
};

}  // namespace memo_test
