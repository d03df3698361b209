#include "memo/session.h"

#include <algorithm>
#include <atomic>

#include "memo/detail/cache_core.h"
#include "memo/detail/messages.h"
#include "session_internal.h"

namespace memo {
namespace detail {
namespace {

// Session-scoped caches, so disconnect() can reach them. A cache unregisters in its
// destructor; disconnect holds the lock while dropping, so a cache cannot die midway.
struct SessionCaches {
  std::mutex mu;
  std::vector<CacheCore*> caches;  // guarded by mu
};

SessionCaches& session_caches() {
  static SessionCaches* instance = new SessionCaches();  // leaked: used during exit
  return *instance;
}

thread_local MessageRecorder* innermost_recorder = nullptr;

}  // namespace

void register_session_cache(CacheCore* cache) {
  std::lock_guard lock(session_caches().mu);
  session_caches().caches.push_back(cache);
}

void unregister_session_cache(CacheCore* cache) {
  std::lock_guard lock(session_caches().mu);
  std::erase(session_caches().caches, cache);
}

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
  auto& registry = detail::session_caches();
  std::lock_guard lock(registry.mu);
  for (detail::CacheCore* cache : registry.caches) cache->drop_session(id_);
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
  std::lock_guard lock(mu_);
  sink_ = std::move(sink);
}

void Session::write(std::string_view message) {
  std::lock_guard lock(mu_);
  messages_.emplace_back(message);
  if (sink_) sink_(message);
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
