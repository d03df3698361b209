#include "memo/session.h"

#include <algorithm>
#include <atomic>

#include "cache/cache_core.h"
#include "cache/messages.h"
#include "cache/registry.h"

namespace memo {
namespace detail {
namespace {

thread_local MessageRecorder* innermost_recorder = nullptr;

}  // namespace

MessageRecorder::MessageRecorder() : outer_(innermost_recorder) { innermost_recorder = this; }
MessageRecorder::~MessageRecorder() { innermost_recorder = outer_; }

void MessageRecorder::record(std::string_view message) {
  for (MessageRecorder* r = innermost_recorder; r != nullptr; r = r->outer_) {
    r->messages_.emplace_back(message);
  }
}

}  // namespace detail

namespace {

std::atomic<std::uint64_t> next_session_id{1};
thread_local Session* current = nullptr;

}  // namespace

Session::Session(std::string name)
    : id_(next_session_id.fetch_add(1, std::memory_order_relaxed)),
      name_(name.empty() ? "session-" + std::to_string(id_) : std::move(name)) {}

Session::~Session() { disconnect(); }

void Session::disconnect() {
  // A snapshot, worked on with no lock held: each drop runs on_release, which may make
  // session-scoped caches or take as long as it likes without stalling anyone else.
  for (detail::CacheCore* cache : detail::Registry::session_scoped()) cache->drop_session(id_);
}

std::vector<std::string> Session::messages() const {
  std::lock_guard lock(mu_);
  return messages_;
}

void Session::clear_messages() {
  std::lock_guard lock(mu_);
  messages_.clear();
}

void Session::set_sink(std::function<void(std::string_view)> sink) {
  auto fresh = sink ? std::make_shared<const std::function<void(std::string_view)>>(std::move(sink))
                    : nullptr;
  std::lock_guard lock(mu_);
  fresh.swap(sink_);  // the old sink is destroyed after the lock, with `fresh`
}

void Session::write(std::string_view message) {
  std::shared_ptr<const std::function<void(std::string_view)>> sink;
  {
    std::lock_guard lock(mu_);
    messages_.emplace_back(message);
    sink = sink_;
  }
  if (sink && *sink) (*sink)(message);  // a user callback: never under the session's mutex
}

Session& Session::process_default() {
  static Session* instance = new Session("default");  // leaked: used during exit
  return *instance;
}

SessionScope::SessionScope(Session& session) : previous_(current) { current = &session; }
SessionScope::~SessionScope() { current = previous_; }

Session& current_session() { return current != nullptr ? *current : Session::process_default(); }

void emit(std::string_view message) {
  current_session().write(message);
  detail::MessageRecorder::record(message);
}

}  // namespace memo
