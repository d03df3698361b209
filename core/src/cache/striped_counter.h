// A counter that many threads bump without sharing a cache line: each thread adds to one
// of a fixed set of stripes, and a read sums them. The hit path of a cache counts every
// hit; a single atomic would be written by every hitting thread, and that one contended
// line is what stops a hot key's hits from scaling across cores.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace memo::detail {

class StripedCounter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    stripes_[my_stripe()].value.fetch_add(n, std::memory_order_relaxed);
  }
  // Exact when no thread is adding; otherwise a value the counter held recently.
  std::uint64_t sum() const noexcept {
    std::uint64_t total = 0;
    for (const auto& stripe : stripes_) total += stripe.value.load(std::memory_order_relaxed);
    return total;
  }

 private:
  // Threads take stripes round-robin as they first count, so up to kStripes threads
  // never share one; more threads share a stripe, two by two, still mostly uncontended.
  static constexpr std::size_t kStripes = 16;
  static std::size_t my_stripe() noexcept;

  struct alignas(64) Stripe {
    std::atomic<std::uint64_t> value{0};
  };
  std::array<Stripe, kStripes> stripes_{};
};

}  // namespace memo::detail
