// memo_scenarios::SessionCrowd: S users of an app, each a thread running as its own
// memo::Session, that a scenario makes rerun together.
//
// Why a standing crowd rather than threads per run: the benchmarks time each run, and
// starting 64 threads costs about as much as the work being measured. The crowd's
// threads are started once and reused for every run; each stays inside a
// memo::SessionScope for its session for its whole life, as a Streamlit session's
// script thread runs as that session.
//
// run(body) wakes every session, holds them at a start line until all are awake, then
// releases them together -- so misses on one key really coincide (the thundering
// herd) -- and returns when all have finished. More sessions than cores is intended:
// the operating system then interleaves them as it would a busy app's sessions.
//
// Thread safety: one controlling thread drives the crowd; run() and disconnect_all()
// must not be called concurrently. session(i) may be used from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "memo/session.h"

namespace memo_scenarios {

class SessionCrowd {
 public:
  // Each session is a thread, and cds_map attaches at most 256 threads at once.
  static constexpr int kMaxSessions = 128;

  // Throws std::invalid_argument unless 1 <= sessions <= kMaxSessions.
  explicit SessionCrowd(int sessions);
  ~SessionCrowd();
  SessionCrowd(const SessionCrowd&) = delete;
  SessionCrowd& operator=(const SessionCrowd&) = delete;

  int size() const { return static_cast<int>(sessions_.size()); }
  memo::Session& session(int index) { return *sessions_.at(static_cast<std::size_t>(index)); }

  // Runs body(session_index) on every session's thread, started together. Returns the
  // time from the first session's release to the last one finishing. If bodies throw,
  // every session still finishes and the first exception is rethrown here.
  std::chrono::nanoseconds run(const std::function<void(int session_index)>& body);

  // Every session disconnects, each from its own thread and all at once: their
  // session-scoped resources are released. The sessions may be used again.
  void disconnect_all();

 private:
  void serve(int index);

  std::vector<std::unique_ptr<memo::Session>> sessions_;
  std::vector<std::thread> threads_;

  std::mutex mu_;
  std::condition_variable wake_;  // a new run (or shutdown) for the workers
  std::condition_variable done_;  // the last worker finished the run
  std::uint64_t generation_ = 0;                           // guarded by mu_
  const std::function<void(int)>* body_ = nullptr;         // guarded by mu_
  int running_ = 0;                                        // guarded by mu_
  bool stopping_ = false;                                  // guarded by mu_
  std::exception_ptr first_error_;                         // guarded by mu_
  std::optional<std::latch> start_line_;  // rebuilt under mu_ before each run's wake-up
  std::vector<std::chrono::steady_clock::time_point> started_, finished_;  // per worker
};

}  // namespace memo_scenarios
