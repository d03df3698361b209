// ClearGate: lets every store operation run concurrently while clear() takes the
// whole map to itself. Internal to the memo library; not installed.
//
// Why: oneTBB's concurrent_hash_map can be neither iterated nor clear()ed beside any
// other operation, yet Store::clear must report every entry exactly once while other
// threads keep working. A std::shared_mutex would do, but every lock_shared writes
// the same cache line from every core. This is a striped reader lock ("big reader"
// lock): an operation announces itself on one of kStripes counters (chosen per thread,
// so threads rarely share a line) and then checks the single `closing_` flag, which
// stays in every core's cache until a clear sets it.
//
// Correctness hinges on a Dekker handshake, hence seq_cst on exactly these accesses:
//   operation: inside += 1;  then reads closing_
//   clear:     closing_ = true;  then reads every inside
// In the single total order of seq_cst operations one of the two reads sees the other
// side's write, so an operation and a clear are never both admitted.
// Clears are serialised by closer_; a waiting clear keeps new operations out (writer
// preference), so it cannot starve.
//
// Costs: an operation pays two atomic RMWs on a line it usually owns alone; a clear
// pays a scan of kStripes lines plus the wait for operations in flight.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

namespace memo::detail {

class ClearGate {
  static constexpr std::size_t kStripes = 64;

  struct alignas(64) Stripe {
    std::atomic<std::uint32_t> inside{0};
  };

 public:
  // Held by an ordinary operation for its whole duration; never nested on one thread.
  class Shared {
   public:
    explicit Shared(ClearGate& gate) : stripe_(gate.enter()) {}
    ~Shared() { stripe_.inside.fetch_sub(1, std::memory_order_release); }
    Shared(const Shared&) = delete;
    Shared& operator=(const Shared&) = delete;

   private:
    Stripe& stripe_;
  };

  // Held by clear(): no operation runs while it lives.
  class Exclusive {
   public:
    explicit Exclusive(ClearGate& gate) : gate_(gate) { gate_.close(); }
    ~Exclusive() { gate_.open(); }
    Exclusive(const Exclusive&) = delete;
    Exclusive& operator=(const Exclusive&) = delete;

   private:
    ClearGate& gate_;
  };

 private:
  static std::size_t stripe_of_this_thread() {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
    return mine;
  }

  Stripe& enter() {
    Stripe& stripe = stripes_[stripe_of_this_thread()];
    for (;;) {
      stripe.inside.fetch_add(1, std::memory_order_seq_cst);
      if (!closing_.load(std::memory_order_seq_cst)) return stripe;
      stripe.inside.fetch_sub(1, std::memory_order_release);
      while (closing_.load(std::memory_order_acquire)) std::this_thread::yield();
    }
  }

  void close() {
    closer_.lock();
    closing_.store(true, std::memory_order_seq_cst);
    for (auto& stripe : stripes_) {
      while (stripe.inside.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
    }
  }

  void open() {
    closing_.store(false, std::memory_order_release);
    closer_.unlock();
  }

  std::array<Stripe, kStripes> stripes_{};
  alignas(64) std::atomic<bool> closing_{false};
  std::mutex closer_;
};

}  // namespace memo::detail
