#include "memo/observer.h"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <thread>

namespace memo {
namespace {

constexpr const char* kFrames[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
constexpr auto kRedrawEvery = std::chrono::milliseconds(100);

// One redraw thread per running miss, only when stderr is a terminal. Misses are slow
// by definition, so a thread each costs nothing that matters and keeps it simple.
class TerminalObserver final : public MissObserver {
 public:
  TerminalObserver() : interactive_(isatty(STDERR_FILENO) == 1) {}

  ~TerminalObserver() override {
    std::unique_lock lock(mu_);
    for (auto& [id, spinner] : spinners_) spinner->stop = true;
    cv_.notify_all();
    auto spinners = std::move(spinners_);
    lock.unlock();
    for (auto& [id, spinner] : spinners) spinner->thread.join();
  }

  void miss_started(const MissEvent& event) override {
    if (!interactive_ || !event.show_spinner) return;
    auto spinner = std::make_unique<Spinning>();
    Spinning* raw = spinner.get();
    std::lock_guard lock(mu_);
    raw->thread = std::thread([this, raw, text = std::string(event.text), time = event.show_time] {
      const auto started = std::chrono::steady_clock::now();
      std::unique_lock lock(mu_);
      for (std::size_t frame = 0; !raw->stop; ++frame) {
        const std::string line =
            spinner_line(text, std::chrono::steady_clock::now() - started, time, frame);
        std::fprintf(stderr, "\r\033[K%s", line.c_str());
        std::fflush(stderr);
        cv_.wait_for(lock, kRedrawEvery, [raw] { return raw->stop; });
      }
      std::fprintf(stderr, "\r\033[K");
      std::fflush(stderr);
    });
    spinners_.emplace(event.miss_id, std::move(spinner));
  }

  void miss_finished(const MissEvent& event, std::chrono::nanoseconds, bool) override {
    std::unique_lock lock(mu_);
    auto found = spinners_.find(event.miss_id);
    if (found == spinners_.end()) return;
    auto spinner = std::move(found->second);
    spinners_.erase(found);
    spinner->stop = true;
    cv_.notify_all();
    lock.unlock();
    spinner->thread.join();
  }

  void warning(std::string_view function, std::string_view message) override {
    std::lock_guard lock(mu_);
    std::fprintf(stderr, "memo warning [%.*s]: %.*s\n", static_cast<int>(function.size()),
                 function.data(), static_cast<int>(message.size()), message.data());
  }

 private:
  struct Spinning {
    std::thread thread;
    bool stop = false;  // guarded by mu_
  };
  const bool interactive_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::uint64_t, std::unique_ptr<Spinning>> spinners_;  // guarded by mu_
};

std::mutex default_mu;
std::shared_ptr<MissObserver>& default_slot() {
  static auto* slot = new std::shared_ptr<MissObserver>(terminal_observer());
  return *slot;
}

}  // namespace

std::string spinner_line(std::string_view text, std::chrono::nanoseconds elapsed, bool show_time,
                         std::size_t frame) {
  std::string line = kFrames[frame % std::size(kFrames)];
  line += ' ';
  line += text;
  if (show_time) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, " (%.1fs)",
                  std::chrono::duration<double>(elapsed).count());
    line += seconds;
  }
  return line;
}

std::shared_ptr<MissObserver> terminal_observer() {
  return std::make_shared<TerminalObserver>();
}

std::shared_ptr<MissObserver> default_observer() {
  std::lock_guard lock(default_mu);
  return default_slot();
}

void set_default_observer(std::shared_ptr<MissObserver> observer) {
  std::lock_guard lock(default_mu);
  default_slot() = observer ? std::move(observer) : terminal_observer();
}

void RecordingObserver::miss_started(const MissEvent& event) {
  std::lock_guard lock(mu_);
  events_.push_back({Event::started, std::string(event.function), std::string(event.text),
                     event.show_spinner, event.show_time, false, {}});
}

void RecordingObserver::miss_finished(const MissEvent& event, std::chrono::nanoseconds elapsed,
                                      bool succeeded) {
  std::lock_guard lock(mu_);
  events_.push_back({Event::finished, std::string(event.function), std::string(event.text),
                     event.show_spinner, event.show_time, succeeded, elapsed});
}

void RecordingObserver::warning(std::string_view function, std::string_view message) {
  std::lock_guard lock(mu_);
  events_.push_back({Event::warning, std::string(function), std::string(message)});
}

std::vector<RecordingObserver::Event> RecordingObserver::events() const {
  std::lock_guard lock(mu_);
  return events_;
}

std::size_t RecordingObserver::count(Event::Kind kind) const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const auto& event : events_) n += event.kind == kind ? 1 : 0;
  return n;
}

}  // namespace memo
