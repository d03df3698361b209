// Redis servers, processes and helpers for the redis store's tests (header-only; built
// only when MEMO_HAVE_HIREDIS).
//
// Shared servers: $MEMO_TEST_REDIS_URL (standalone) and $MEMO_TEST_REDIS_CLUSTER_URL (a
// three-master cluster), which scripts/test exports after `scripts/redis-servers start`.
// When they are unset, the test process starts its own with that script (stopped at
// exit, and by a watchdog should the process die) or, without redis-server installed,
// the test is skipped with a loud warning -- unless MEMO_TEST_REDIS_REQUIRED=1 (set by
// scripts/test), where a missing server fails the test.
//
// Private servers: a test that kills, restarts, slows or fills a server gets its own
// (PrivateServer, or a private cluster), so tests running in parallel never see it.
// Tests on shared servers use a fresh namespace each (fresh_namespace()), so they never
// see each other's entries, nor those of an earlier run.
#pragma once

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "memo/key.h"
#include "support/child_process.h"

namespace memo_test::redis {

using namespace std::chrono_literals;

inline bool required() {
  const char* value = std::getenv("MEMO_TEST_REDIS_REQUIRED");
  return value && *value && std::string_view(value) != "0";
}

inline memo::Key fresh_namespace() {
  static std::mt19937_64 generator{std::random_device{}() ^
                                   static_cast<std::uint64_t>(::getpid()) << 32 ^
                                   static_cast<std::uint64_t>(
                                       std::chrono::steady_clock::now().time_since_epoch().count())};
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  return {generator(), generator()};
}

// ---- servers started by this process when the environment names none -----------------

class OwnServers {
 public:
  // `option`: --standalone-only or --cluster-only.
  explicit OwnServers(const char* option) {
    char pattern[] = "/tmp/memo-redis-test.XXXXXX";
    if (!::mkdtemp(pattern)) return;
    dir_ = pattern;
    const std::string command = std::string(MEMO_SOURCE_DIR) + "/scripts/redis-servers start " + dir_ +
                                " " + option + " --owner " + std::to_string(::getpid()) + " >/dev/null 2>" +
                                dir_ + "/start.err";
    if (std::system(command.c_str()) != 0) {
      std::ifstream err(dir_ + "/start.err");
      error_.assign(std::istreambuf_iterator<char>(err), {});
      return;
    }
    std::ifstream env(dir_ + "/env");
    for (std::string line; std::getline(env, line);) {
      const auto eq = line.find('=');
      if (eq == std::string::npos) continue;
      const std::string name = line.substr(0, eq);
      if (name == "MEMO_TEST_REDIS_URL") standalone = line.substr(eq + 1);
      if (name == "MEMO_TEST_REDIS_CLUSTER_URL") cluster = line.substr(eq + 1);
    }
  }
  ~OwnServers() {
    if (dir_.empty()) return;
    const std::string command =
        std::string(MEMO_SOURCE_DIR) + "/scripts/redis-servers stop " + dir_ + " >/dev/null 2>&1";
    [[maybe_unused]] const int status = std::system(command.c_str());
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  OwnServers(const OwnServers&) = delete;
  OwnServers& operator=(const OwnServers&) = delete;

  std::string standalone;
  std::string cluster;
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  std::string error_;
};

inline std::string env_or_own(const char* variable, const char* option, std::unique_ptr<OwnServers>& own) {
  if (const char* url = std::getenv(variable); url && *url) return url;
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  if (!own) own = std::make_unique<OwnServers>(option);
  const std::string& url = std::string_view(option) == "--cluster-only" ? own->cluster : own->standalone;
  if (url.empty()) {
    std::fprintf(stderr, "redis tests: no %s and scripts/redis-servers could not start one: %s\n", variable,
                 own->error().c_str());
  }
  return url;
}

// The shared standalone server's URL, or "" when there is none.
inline std::string standalone_url() {
  static std::unique_ptr<OwnServers> own;
  static const std::string url = env_or_own("MEMO_TEST_REDIS_URL", "--standalone-only", own);
  return url;
}

// Any node of the shared three-master cluster, or "" when there is none.
inline std::string cluster_url() {
  static std::unique_ptr<OwnServers> own;
  static const std::string url = env_or_own("MEMO_TEST_REDIS_CLUSTER_URL", "--cluster-only", own);
  return url;
}

// Leaves the test (loudly) when `url` is empty; fails it instead under scripts/test.
#define MEMO_NEED_REDIS(url)                                                                  \
  do {                                                                                        \
    if ((url).empty()) {                                                                      \
      if (memo_test::redis::required()) FAIL("MEMO_TEST_REDIS_REQUIRED is set but no Redis server is available"); \
      WARN("SKIPPED: no Redis server (set MEMO_TEST_REDIS_URL / MEMO_TEST_REDIS_CLUSTER_URL, " \
           "see scripts/redis-servers, or install redis-server)");                            \
      return;                                                                                 \
    }                                                                                         \
  } while (0)

// ---- plain commands (test set-up and inspection, bypassing the store) -----------------

struct HostPort {
  std::string host;
  int port = 0;
};

// "redis://host:port/db" without credentials (the tests' servers have none).
inline HostPort host_port(const std::string& url) {
  std::string rest = url.substr(url.find("://") + 3);
  rest = rest.substr(0, rest.find('/'));
  const auto colon = rest.rfind(':');
  return {rest.substr(0, colon), std::stoi(rest.substr(colon + 1))};
}

class Admin {
 public:
  explicit Admin(const HostPort& node, std::chrono::milliseconds timeout = 10s) {
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    context_ = redisConnectWithTimeout(node.host.c_str(), node.port, tv);
    if (!context_ || context_->err) {
      const std::string why = context_ ? context_->errstr : "allocation failed";
      if (context_) redisFree(context_);
      context_ = nullptr;
      throw std::runtime_error("admin connection to " + node.host + ":" + std::to_string(node.port) +
                               " failed: " + why);
    }
    redisSetTimeout(context_, tv);
  }
  explicit Admin(const std::string& url, std::chrono::milliseconds timeout = 10s)
      : Admin(host_port(url), timeout) {}
  ~Admin() {
    if (context_) redisFree(context_);
  }
  Admin(const Admin&) = delete;
  Admin& operator=(const Admin&) = delete;

  // The reply as text: a string or status as is, an integer in decimal, nil as "(nil)",
  // an error as "ERR ...", an array as its elements joined by '\n'.
  std::string run(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(context_, static_cast<int>(args.size()), argv.data(), lengths.data()));
    if (!reply) throw std::runtime_error(std::string("admin command failed: ") + context_->errstr);
    std::string text = render(reply);
    freeReplyObject(reply);
    return text;
  }
  long long integer(const std::vector<std::string>& args) { return std::stoll(run(args)); }

  // The master serving `key`'s slot, from CLUSTER SLOTS.
  HostPort owner_of(const std::string& key) {
    const long long slot = integer({"CLUSTER", "KEYSLOT", key});
    auto* reply = static_cast<redisReply*>(redisCommand(context_, "CLUSTER SLOTS"));
    if (!reply) throw std::runtime_error("CLUSTER SLOTS failed");
    HostPort owner;
    for (std::size_t i = 0; i < reply->elements && reply->type == REDIS_REPLY_ARRAY; ++i) {
      const redisReply* range = reply->element[i];
      if (range->element[0]->integer <= slot && slot <= range->element[1]->integer) {
        owner.host.assign(range->element[2]->element[0]->str, range->element[2]->element[0]->len);
        owner.port = static_cast<int>(range->element[2]->element[1]->integer);
      }
    }
    freeReplyObject(reply);
    return owner;
  }

 private:
  static std::string render(const redisReply* reply) {
    switch (reply->type) {
      case REDIS_REPLY_STRING:
      case REDIS_REPLY_STATUS:
      case REDIS_REPLY_ERROR: return std::string(reply->str, reply->len);
      case REDIS_REPLY_INTEGER: return std::to_string(reply->integer);
      case REDIS_REPLY_NIL: return "(nil)";
      case REDIS_REPLY_ARRAY: {
        std::string joined;
        for (std::size_t i = 0; i < reply->elements; ++i) {
          if (i) joined += '\n';
          joined += render(reply->element[i]);
        }
        return joined;
      }
    }
    return "?";
  }

  redisContext* context_ = nullptr;
};

inline std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return lines;
}

// The masters of the cluster `url` belongs to.
inline std::vector<HostPort> cluster_masters(const std::string& url) {
  Admin admin(url);
  std::vector<HostPort> masters;
  for (const auto& line : split_lines(admin.run({"CLUSTER", "NODES"}))) {
    // <id> <ip:port@bus> <flags> ...
    std::vector<std::string> fields;
    for (std::size_t at = 0; at < line.size();) {
      const auto space = line.find(' ', at);
      fields.push_back(line.substr(at, space - at));
      if (space == std::string::npos) break;
      at = space + 1;
    }
    if (fields.size() < 3 || fields[2].find("master") == std::string::npos) continue;
    const std::string address = fields[1].substr(0, fields[1].find('@'));
    const auto colon = address.rfind(':');
    masters.push_back({address.substr(0, colon), std::stoi(address.substr(colon + 1))});
  }
  return masters;
}

// ---- a server of the test's own ---------------------------------------------------------

inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

inline bool ping(const HostPort& node) {
  try {
    Admin admin(node, 500ms);
    return admin.run({"PING"}) == "PONG";
  } catch (const std::exception&) {
    return false;
  }
}

class PrivateServer {
 public:
  explicit PrivateServer(std::vector<std::string> extra_args = {}) : extra_(std::move(extra_args)) {
    char pattern[] = "/tmp/memo-redis-private.XXXXXX";
    if (::mkdtemp(pattern)) dir_ = pattern;
    for (int attempt = 0; attempt < 5 && !running(); ++attempt) {
      port_ = free_port();
      start();
    }
  }
  ~PrivateServer() {
    kill();
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }
  PrivateServer(const PrivateServer&) = delete;
  PrivateServer& operator=(const PrivateServer&) = delete;

  // Empty when redis-server could not be started.
  std::string url() const { return port_ > 0 ? "redis://127.0.0.1:" + std::to_string(port_) + "/0" : ""; }
  bool running() const { return process_ && process_->running(); }
  HostPort node() const { return {"127.0.0.1", port_}; }

  void kill() { process_.reset(); }  // SIGKILL: a crash, as far as clients can tell

  // (Re)starts the server on its port; true once it answers.
  bool start() {
    if (running()) return true;
    std::vector<std::string> args{"redis-server",  "--port",     std::to_string(port_), "--bind",
                                  "127.0.0.1",     "--save",     "",                    "--appendonly",
                                  "no",            "--dir",      dir_,                  "--enable-debug-command",
                                  "local"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    for (int attempt = 0; attempt < 20; ++attempt) {
      process_ = std::make_unique<memo_test::ChildProcess>(args, memo_test::ChildProcess::Pipes{},
                                                          dir_ + "/redis.log");
      for (int waited = 0; waited < 100; ++waited) {
        if (ping(node())) return true;
        if (process_->wait(std::chrono::milliseconds(0)) >= 0) break;  // exited: port taken?
        std::this_thread::sleep_for(50ms);
      }
      process_.reset();
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

 private:
  std::vector<std::string> extra_;
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<memo_test::ChildProcess> process_;
};

// A three-master cluster of the test's own (for tests that slow a node or move slots).
class PrivateCluster {
 public:
  PrivateCluster() : servers_("--cluster-only") {}
  std::string url() const { return servers_.cluster; }

 private:
  OwnServers servers_;
};

// ---- a worker process (tests/redis/worker.cpp) ------------------------------------------

#ifdef MEMO_REDIS_WORKER
// Lines of its output say what it did (see the worker's header comment).
class Worker : public memo_test::ChildProcess {
 public:
  explicit Worker(const std::vector<std::string>& args)
      : ChildProcess(with_program(args), Pipes{.in = false, .out = true}) {}

 private:
  static std::vector<std::string> with_program(const std::vector<std::string>& args) {
    std::vector<std::string> argv{MEMO_REDIS_WORKER};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
};
#endif

}  // namespace memo_test::redis
