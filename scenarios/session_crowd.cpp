#include "memo_scenarios/session_crowd.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace memo_scenarios {

SessionCrowd::SessionCrowd(int sessions) {
  if (sessions < 1 || sessions > kMaxSessions) {
    throw std::invalid_argument("memo_scenarios: a crowd needs 1 to " +
                                std::to_string(kMaxSessions) + " sessions, not " +
                                std::to_string(sessions));
  }
  started_.resize(static_cast<std::size_t>(sessions));
  finished_.resize(static_cast<std::size_t>(sessions));
  for (int i = 0; i < sessions; ++i) {
    sessions_.push_back(std::make_unique<memo::Session>("session-" + std::to_string(i)));
  }
  for (int i = 0; i < sessions; ++i) threads_.emplace_back(&SessionCrowd::serve, this, i);
}

SessionCrowd::~SessionCrowd() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& thread : threads_) thread.join();
}

std::chrono::nanoseconds SessionCrowd::run(const std::function<void(int)>& body) {
  std::unique_lock lock(mu_);
  body_ = &body;
  running_ = size();
  first_error_ = nullptr;
  start_line_.emplace(size());
  ++generation_;
  wake_.notify_all();
  done_.wait(lock, [&] { return running_ == 0; });
  body_ = nullptr;
  if (first_error_) std::rethrow_exception(std::exchange(first_error_, nullptr));
  const auto first_start = *std::min_element(started_.begin(), started_.end());
  const auto last_finish = *std::max_element(finished_.begin(), finished_.end());
  return last_finish - first_start;
}

void SessionCrowd::disconnect_all() {
  run([this](int index) { session(index).disconnect(); });
}

void SessionCrowd::serve(int index) {
  memo::SessionScope as_session(*sessions_[static_cast<std::size_t>(index)]);
  std::uint64_t seen = 0;
  for (;;) {
    const std::function<void(int)>* body = nullptr;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      body = body_;
    }
    start_line_->arrive_and_wait();
    const auto i = static_cast<std::size_t>(index);
    started_[i] = std::chrono::steady_clock::now();
    std::exception_ptr error;
    try {
      (*body)(index);
    } catch (...) {
      error = std::current_exception();
    }
    finished_[i] = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    // Hand over or drop this thread's reference to the exception before the run can
    // end: the controlling thread rethrows it and may free it right away.
    if (error && !first_error_) first_error_ = std::move(error);
    error = nullptr;
    if (--running_ == 0) done_.notify_one();
  }
}

}  // namespace memo_scenarios
