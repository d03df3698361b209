// Concurrent mutation of one cached object: the l[0] race and the guide's bank.
#include <atomic>
#include <climits>
#include <cstdlib>
#include <mutex>

#include "memo_scenarios/atomic_list.h"
#include "races_cached.h"

namespace memo_scenarios::races {

using detail::object_of;
using detail::require;
using detail::Tally;

namespace {

// Locks the object's own mutex only for the strategy that models the guide's fix.
std::unique_lock<std::mutex> guard(Strategy strategy, const AtomicList& object) {
  std::unique_lock lock(object.mutex(), std::defer_lock);
  if (strategy == Strategy::cache_resource_locked) lock.lock();
  return lock;
}

// splitmix64: a tiny, seedable generator, so a run's transfers are reproducible.
struct Transfers {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

}  // namespace

RaceResult run_race(SessionCrowd& crowd, const RaceConfig& config) {
  require(config.reruns >= 1, "race needs at least one rerun per session");
  require(config.gap >= 0, "race gap must not be negative");
  constexpr long kInitial = 1;
  const bool private_copies = copies(config.strategy);
  std::atomic<std::uint64_t> computations{0};
  auto create_list = [&computations] {
    computations.fetch_add(1);
    return AtomicList({kInitial, 2, 3});
  };
  std::vector<Tally> tallies(static_cast<std::size_t>(crowd.size()));
  RaceResult result;
  result.initial_value = kInitial;
  detail::with_cache(config.strategy, config.store, "race", create_list, [&](const auto& cached) {
    result.elapsed = crowd.run([&](int session) {
      Tally& tally = tallies[static_cast<std::size_t>(session)];
      long last_written = LONG_MIN;
      for (int r = 0; r < config.reruns; ++r) {
        auto handle = cached();
        AtomicList& l = object_of(handle);
        long read = 0;
        {
          auto lock = guard(config.strategy, l);
          read = detail::read_then_write(l[0], config.gap);
        }
        ++tally.operations;
        if (private_copies) {
          if (read != kInitial) ++tally.wrong;
          if (l[0].load() != read + 1) ++tally.lost;
        } else {
          if (read < last_written) ++tally.wrong;
          last_written = read + 1;
        }
      }
    });
    auto handle = cached();
    result.final_value = object_of(handle)[0].load();
  });
  std::uint64_t lost_on_copies = 0;
  for (const Tally& t : tallies) {
    result.increments += t.operations;
    result.wrong_values += t.wrong;
    lost_on_copies += t.lost;
  }
  if (private_copies) {
    result.lost_updates = static_cast<std::int64_t>(lost_on_copies);
    if (result.final_value != kInitial) ++result.wrong_values;
  } else {
    result.lost_updates = static_cast<std::int64_t>(result.increments) -
                          (result.final_value - result.initial_value);
  }
  result.computations = computations.load();
  return result;
}

BankResult run_bank(SessionCrowd& crowd, const BankConfig& config) {
  require(config.reruns >= 1, "bank needs at least one transfer per session");
  require(config.accounts >= 2, "bank needs at least two accounts");
  const auto accounts = static_cast<std::size_t>(config.accounts);
  const bool private_copies = copies(config.strategy);
  std::atomic<std::uint64_t> computations{0};
  auto open_bank = [&] {
    computations.fetch_add(1);
    return AtomicList(std::vector<long>(accounts, config.opening_balance));
  };
  const auto sessions = static_cast<std::size_t>(crowd.size());
  std::vector<Tally> tallies(sessions);
  // What the transfers say each account should hold, per session (no sharing).
  std::vector<std::vector<long>> ledgers(sessions, std::vector<long>(accounts, 0));
  BankResult result;
  result.opening_total = config.opening_balance * config.accounts;
  std::vector<long> final_balances;
  detail::with_cache(config.strategy, config.store, "bank", open_bank, [&](const auto& cached) {
    result.elapsed = crowd.run([&](int session) {
      const auto s = static_cast<std::size_t>(session);
      Tally& tally = tallies[s];
      std::vector<long>& ledger = ledgers[s];
      Transfers random{config.seed + s};
      for (int r = 0; r < config.reruns; ++r) {
        auto handle = cached();
        AtomicList& bank = object_of(handle);
        if (private_copies && bank.values() != std::vector<long>(accounts, config.opening_balance)) {
          ++tally.wrong;
        }
        const std::size_t from = random.next() % accounts;
        const std::size_t to = (from + 1 + random.next() % (accounts - 1)) % accounts;
        const long amount = 1 + static_cast<long>(random.next() % 10);
        {
          auto lock = guard(config.strategy, bank);
          const long from_balance = bank[from].load();
          const long to_balance = bank[to].load();
          bank[from].store(from_balance - amount);
          bank[to].store(to_balance + amount);
        }
        ++tally.operations;
        if (private_copies) {
          tally.misbooked += std::labs(bank[from].load() - (config.opening_balance - amount)) +
                             std::labs(bank[to].load() - (config.opening_balance + amount));
        } else {
          ledger[from] -= amount;
          ledger[to] += amount;
        }
      }
    });
    auto handle = cached();
    final_balances = object_of(handle).values();
  });
  for (const Tally& t : tallies) {
    result.transfers += t.operations;
    result.wrong_values += t.wrong;
    result.misbooked += t.misbooked;
  }
  for (std::size_t a = 0; a < accounts; ++a) {
    result.final_total += final_balances[a];
    long expected = config.opening_balance;
    if (!private_copies) {
      for (const auto& ledger : ledgers) expected += ledger[a];
    }
    const long off = std::labs(final_balances[a] - expected);
    if (private_copies) {
      if (off != 0) ++result.wrong_values;  // the cached accounts must never move
    } else {
      result.misbooked += off;
    }
  }
  result.drift = result.final_total - result.opening_total;
  result.computations = computations.load();
  return result;
}

}  // namespace memo_scenarios::races
