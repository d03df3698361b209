// Small helpers shared by the core tests.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "memo/memo.h"
#include "support/store_testing.h"

namespace memo_test {

// Options that keep tests quiet and observable.
inline std::shared_ptr<memo::RecordingObserver> recorder() {
  return std::make_shared<memo::RecordingObserver>();
}

// Releases every waiting thread at once, so misses really are concurrent.
class StartLine {
 public:
  explicit StartLine(int expected) : expected_(expected) {}
  void arrive_and_wait() {
    std::unique_lock lock(mu_);
    if (++arrived_ == expected_) cv_.notify_all();
    cv_.wait(lock, [&] { return arrived_ >= expected_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int arrived_ = 0;
  const int expected_;
};

// Caches live for the process, so a cache whose on_release captures a test's locals by
// reference must be emptied before those locals go: this clears it at scope exit.
template <class Cached>
class ClearOnExit {
 public:
  explicit ClearOnExit(const Cached& cached) : cached_(cached) {}
  ~ClearOnExit() { cached_.clear(); }
  ClearOnExit(const ClearOnExit&) = delete;
  ClearOnExit& operator=(const ClearOnExit&) = delete;

 private:
  const Cached& cached_;
};

template <class Fn>
void run_threads(int count, Fn fn) {
  std::vector<std::thread> threads;
  for (int i = 0; i < count; ++i) threads.emplace_back(fn, i);
  for (auto& t : threads) t.join();
}

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
inline constexpr int kSanitizerSlowdown = 8;
#else
inline constexpr int kSanitizerSlowdown = 1;
#endif

}  // namespace memo_test
