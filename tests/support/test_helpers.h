// Small helpers shared by the core tests.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "memo/memo.h"

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
