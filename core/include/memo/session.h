// Sessions: the users of an app (the guide's "sessions").
//
// A Session is one connected user. Code runs "as" a session on the current thread
// inside a SessionScope; outside any scope it runs as the process's default session.
// Session-scoped resources (ResourceOptions::scope = Scope::session) are cached per
// session and released, each exactly once, when the session disconnects (or is
// destroyed). Each session also has an output, where memo::emit() writes: the C++
// stand-in for Streamlit's elements, which cached functions record on a miss and
// replay on every hit.
//
// Thread safety: every member is thread safe. A session may be in scope on several
// threads at once (one user, several reruns).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace memo {

class Session {
 public:
  explicit Session(std::string name = {});
  ~Session();  // disconnects
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  std::uint64_t id() const { return id_; }
  const std::string& name() const { return name_; }

  // Releases this session's session-scoped resources (on_release runs for each).
  // The session may be used again afterwards; it then starts with an empty cache,
  // as a reconnecting Streamlit session does.
  void disconnect();

  // The session's output: every message emitted while running as this session.
  std::vector<std::string> messages() const;
  void clear_messages();
  // Also forwards each message to `sink` (e.g. a terminal); null to stop. The sink runs
  // on the emitting thread with no memo lock held.
  void set_sink(std::function<void(std::string_view)> sink);
  void write(std::string_view message);

  // The session code runs as when no SessionScope is active.
  static Session& process_default();

 private:
  const std::uint64_t id_;
  const std::string name_;
  mutable std::mutex mu_;
  std::vector<std::string> messages_;              // guarded by mu_
  std::shared_ptr<const std::function<void(std::string_view)>> sink_;  // guarded by mu_
};

// Runs the current thread as `session` until destroyed; scopes nest.
class SessionScope {
 public:
  explicit SessionScope(Session& session);
  ~SessionScope();
  SessionScope(const SessionScope&) = delete;
  SessionScope& operator=(const SessionScope&) = delete;

 private:
  Session* previous_;
};

Session& current_session();

// Writes a message to the current session's output. Inside a cached function it is
// also recorded with the entry and replayed to the caller's session on every hit
// (the guide's "static elements").
void emit(std::string_view message);

}  // namespace memo
