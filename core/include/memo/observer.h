// Miss observers: what the guide's show_spinner / show_time become in C++.
//
// A cache calls its observer when a miss starts computing and when it finishes, and
// reports warnings (an on_release or validate that threw, a corrupt cache file) there
// too. The default observer draws a spinner with the text and elapsed time on stderr,
// only when stderr is a terminal, and prints warnings to stderr. Tests install a
// RecordingObserver.
//
// Observers are called from whichever thread runs the miss, concurrently: every
// implementation must be thread safe. An exception thrown by an observer is dropped.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace memo {

struct MissEvent {
  std::uint64_t miss_id;       // pairs miss_started with miss_finished
  std::string_view function;   // the cache's display name
  std::string_view text;       // spinner text (default "Running `name(...)`.")
  bool show_spinner;
  bool show_time;
};

class MissObserver {
 public:
  virtual ~MissObserver() = default;
  virtual void miss_started(const MissEvent& /*event*/) {}
  virtual void miss_finished(const MissEvent& /*event*/, std::chrono::nanoseconds /*elapsed*/,
                             bool /*succeeded*/) {}
  virtual void warning(std::string_view /*function*/, std::string_view /*message*/) {}
};

// The spinner line, e.g. "⠹ Loading data (1.2s)": time with 0.1 s precision as in
// Streamlit, shown only when show_time is set.
std::string spinner_line(std::string_view text, std::chrono::nanoseconds elapsed,
                         bool show_time, std::size_t frame);

// Draws spinners on stderr when it is a terminal; always prints warnings to stderr.
std::shared_ptr<MissObserver> terminal_observer();

// The observer used by caches whose options name none. Thread safe.
std::shared_ptr<MissObserver> default_observer();
void set_default_observer(std::shared_ptr<MissObserver> observer);

// Keeps every event; for tests and logs.
class RecordingObserver : public MissObserver {
 public:
  struct Event {
    enum Kind { started, finished, warning } kind;
    std::string function;
    std::string text;
    bool show_spinner = false;
    bool show_time = false;
    bool succeeded = false;
    std::chrono::nanoseconds elapsed{0};
  };
  void miss_started(const MissEvent& event) override;
  void miss_finished(const MissEvent& event, std::chrono::nanoseconds elapsed,
                     bool succeeded) override;
  void warning(std::string_view function, std::string_view message) override;

  std::vector<Event> events() const;
  std::size_t count(Event::Kind kind) const;

 private:
  mutable std::mutex mu_;
  std::vector<Event> events_;  // guarded by mu_
};

}  // namespace memo
