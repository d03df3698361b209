#include "router.h"

#include <hiredis/hiredis.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <thread>

#include "slot.h"

namespace memo::redis {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A node that refused a connection is not tried again for this long: calls fail fast
// during an outage instead of each paying a connect attempt.
constexpr auto kReconnectBackoff = std::chrono::milliseconds(200);
constexpr std::size_t kMaxIdlePerNode = 64;
constexpr int kMaxRedirects = 5;
constexpr std::uint16_t kNoNode = 0xffff;

Status failure_status(std::string_view error) {
  return error.find("timed out") != std::string_view::npos ? Status::timed_out : Status::lost;
}

Result failed(Status status, std::string error) {
  Result result;
  result.status = status;
  result.error = std::move(error);
  return result;
}

// A failure shared by several calls (a failure carries no reply).
Result copy_of(const Result& failure) {
  Result result;
  result.status = failure.status;
  result.error = failure.error;
  return result;
}

Result from_reply(ReplyPtr reply) {
  Result result;
  if (is_error(reply.get())) {
    result.status = Status::server_error;
    result.error = describe(reply.get());
  } else {
    result.status = Status::ok;
  }
  result.reply = std::move(reply);
  return result;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// "host:port" (the host may itself contain ':' for IPv6).
bool parse_endpoint(std::string_view text, Endpoint& endpoint) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  int port = 0;
  const auto digits = text.substr(colon + 1);
  if (std::from_chars(digits.data(), digits.data() + digits.size(), port).ec != std::errc() ||
      port <= 0 || port > 65535) {
    return false;
  }
  endpoint.host = std::string(text.substr(0, colon));
  endpoint.port = port;
  return true;
}

}  // namespace

class NodePool {
 public:
  NodePool(Endpoint endpoint, const ConnectSettings& settings)
      : endpoint_(std::move(endpoint)), settings_(settings) {}

  const Endpoint& endpoint() const { return endpoint_; }

  std::unique_ptr<Connection> take(Result& failure, bool fresh = false) {
    std::vector<std::unique_ptr<Connection>> inherited;
    {
      std::lock_guard lock(mutex_);
      if (owner_ != ::getpid()) {
        // A child after fork(): the idle connections are its parent's sockets, whose
        // stream the parent still uses. Never touch them (closing our copy is harmless).
        inherited.swap(idle_);
        owner_ = ::getpid();
      }
      if (!fresh && !idle_.empty()) {
        auto connection = std::move(idle_.back());
        idle_.pop_back();
        connection->reused = true;
        return connection;
      }
      if (SteadyClock::now() < retry_after_) {
        failure = failed(Status::unreachable, endpoint_.text() + " unreachable: " + last_error_);
        return nullptr;
      }
    }
    std::string error;
    auto connection = Connection::open(endpoint_, settings_, error);
    if (!connection) {
      std::lock_guard lock(mutex_);
      retry_after_ = SteadyClock::now() + kReconnectBackoff;
      last_error_ = error;
      failure = failed(Status::unreachable, endpoint_.text() + " unreachable: " + error);
    }
    return connection;
  }

  std::unique_ptr<Connection> open_dedicated(Result& failure) {
    std::string error;
    auto connection = Connection::open(endpoint_, settings_, error);
    if (!connection) failure = failed(Status::unreachable, endpoint_.text() + " unreachable: " + error);
    return connection;
  }

  void give_back(std::unique_ptr<Connection> connection) {
    if (!connection || connection->broken()) return;
    connection->reused = false;
    std::lock_guard lock(mutex_);
    if (idle_.size() < kMaxIdlePerNode) idle_.push_back(std::move(connection));
  }

  // A connection failed: the server may have restarted, so the idle ones are suspect.
  void drop_idle() {
    std::vector<std::unique_ptr<Connection>> doomed;
    std::lock_guard lock(mutex_);
    doomed.swap(idle_);
  }

 private:
  const Endpoint endpoint_;
  const ConnectSettings settings_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
  pid_t owner_ = ::getpid();  // the process whose connections idle_ holds
  SteadyClock::time_point retry_after_{};
  std::string last_error_;
};

struct Router::Topology {
  bool cluster = false;
  std::vector<Endpoint> nodes;  // nodes[0] is the seed for a standalone server
  std::array<std::uint16_t, kSlots> slot_node{};

  std::uint16_t index_of(const Endpoint& endpoint) {
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i] == endpoint) return static_cast<std::uint16_t>(i);
    }
    nodes.push_back(endpoint);
    return static_cast<std::uint16_t>(nodes.size() - 1);
  }
};

struct Router::Group {
  Endpoint endpoint;
  std::vector<std::size_t> indices;
  Borrowed borrowed;
  Result failure;  // set when the group could not be sent
  bool sent = false;
};

Router::Router(ServerAddress address, ConnectSettings settings)
    : address_(std::move(address)), settings_(std::move(settings)) {}

Router::~Router() = default;

std::shared_ptr<NodePool> Router::pool_for(const Endpoint& endpoint) {
  std::lock_guard lock(mutex_);
  auto& pool = pools_[endpoint.text()];
  if (!pool) pool = std::make_shared<NodePool>(endpoint, settings_);
  return pool;
}

std::shared_ptr<const Router::Topology> Router::topology(Result& failure) {
  {
    std::lock_guard lock(mutex_);
    if (topology_ && !stale_) return topology_;
  }
  auto fresh = discover(failure);
  if (fresh) return fresh;
  std::lock_guard lock(mutex_);
  return topology_;  // a stale map beats none; null if the server was never reached
}

std::shared_ptr<const Router::Topology> Router::discover(Result& failure) {
  std::lock_guard discovering(discover_mutex_);
  std::vector<Endpoint> candidates{address_.endpoint};
  {
    std::lock_guard lock(mutex_);
    if (topology_ && !stale_) return topology_;  // another thread just did it
    if (topology_) {
      for (const auto& node : topology_->nodes) {
        if (!(node == address_.endpoint)) candidates.push_back(node);
      }
    }
  }
  for (const auto& candidate : candidates) {
    auto pool = pool_for(candidate);
    auto connection = pool->take(failure);
    if (!connection) continue;
    std::string error;
    const std::string_view slots_command[] = {"CLUSTER", "SLOTS"};
    ReplyPtr reply = connection->command(slots_command, error);
    if (!reply) {
      failure = failed(failure_status(error), candidate.text() + ": " + error);
      pool->drop_idle();
      continue;
    }
    pool->give_back(std::move(connection));
    auto fresh = std::make_shared<Topology>();
    fresh->slot_node.fill(kNoNode);
    if (is_error(reply.get())) {
      const std::string text = describe(reply.get());
      if (text.find("cluster support disabled") == std::string::npos) {
        failure = failed(Status::server_error, candidate.text() + ": CLUSTER SLOTS: " + text);
        continue;
      }
      fresh->nodes.push_back(address_.endpoint);
    } else if (reply->type == REDIS_REPLY_ARRAY) {
      fresh->cluster = true;
      for (std::size_t i = 0; i < reply->elements; ++i) {
        const redisReply* range = reply->element[i];
        if (range->type != REDIS_REPLY_ARRAY || range->elements < 3) continue;
        const redisReply* master = range->element[2];
        if (master->type != REDIS_REPLY_ARRAY || master->elements < 2) continue;
        Endpoint node;
        node.host = std::string(as_text(master->element[0]));
        if (node.host.empty()) node.host = candidate.host;  // "" means the node we asked
        node.port = static_cast<int>(master->element[1]->integer);
        const std::uint16_t index = fresh->index_of(node);
        const auto first = range->element[0]->integer;
        const auto last = range->element[1]->integer;
        for (auto slot = first; slot <= last && slot < kSlots; ++slot) {
          fresh->slot_node[static_cast<std::size_t>(slot)] = index;
        }
      }
      if (fresh->nodes.empty()) {
        failure = failed(Status::server_error, candidate.text() + ": the cluster has no slots assigned");
        continue;
      }
    } else {
      failure = failed(Status::server_error, candidate.text() + ": CLUSTER SLOTS: " + describe(reply.get()));
      continue;
    }
    std::lock_guard lock(mutex_);
    topology_ = fresh;
    stale_ = false;
    return fresh;
  }
  return nullptr;
}

void Router::topology_changed() {
  std::lock_guard lock(mutex_);
  stale_ = true;
}

bool Router::is_cluster() {
  std::lock_guard lock(mutex_);
  return topology_ && topology_->cluster;
}

std::vector<Endpoint> Router::nodes() {
  Result failure;
  auto known = topology(failure);
  if (!known) return {address_.endpoint};
  return known->nodes;
}

Endpoint Router::node_for(const Topology& topology, std::string_view route) const {
  if (!topology.cluster) return topology.nodes.front();
  const std::uint16_t index = topology.slot_node[static_cast<std::size_t>(key_slot(route))];
  return index == kNoNode ? topology.nodes.front() : topology.nodes[index];
}

void Router::moved(std::string_view error) {
  // "MOVED <slot> <host>:<port>"
  const auto first = error.find(' ');
  const auto second = error.find(' ', first + 1);
  if (first == std::string_view::npos || second == std::string_view::npos) return;
  int slot = -1;
  std::from_chars(error.data() + first + 1, error.data() + second, slot);
  Endpoint target;
  if (slot < 0 || slot >= kSlots || !parse_endpoint(error.substr(second + 1), target)) return;
  std::lock_guard lock(mutex_);
  auto updated = topology_ ? std::make_shared<Topology>(*topology_) : std::make_shared<Topology>();
  if (!topology_) updated->slot_node.fill(kNoNode);
  updated->cluster = true;
  updated->slot_node[static_cast<std::size_t>(slot)] = updated->index_of(target);
  topology_ = updated;
  stale_ = true;
}

namespace {
void append_call(Connection& connection, const Call& call, bool as_eval) {
  if (!call.script) {
    connection.append(call.args);
    return;
  }
  std::vector<std::string_view> args;
  args.reserve(call.args.size() + 2);
  args.push_back(as_eval ? "EVAL" : "EVALSHA");
  args.push_back(as_eval ? std::string_view(call.script->text) : std::string_view(call.script->sha));
  args.insert(args.end(), call.args.begin(), call.args.end());
  connection.append(args);
}
}  // namespace

void Router::start_group(Group& group, std::span<const Call> calls) {
  group.borrowed.pool = pool_for(group.endpoint);
  group.borrowed.connection = group.borrowed.pool->take(group.failure);
  if (!group.borrowed.connection) return;
  for (std::size_t index : group.indices) append_call(*group.borrowed.connection, calls[index], false);
  std::string error;
  if (!group.borrowed.connection->flush(error)) {
    group.failure = failed(failure_status(error), group.endpoint.text() + ": " + error);
    return;
  }
  group.sent = true;
}

void Router::finish_group(Group& group, std::span<const Call> calls, std::vector<Result>& results) {
  for (int attempt = 0;; ++attempt) {
    std::size_t done = 0;
    if (group.sent) {
      for (; done < group.indices.size(); ++done) {
        std::string error;
        ReplyPtr reply = group.borrowed.connection->read(error);
        if (!reply) {
          group.failure = failed(failure_status(error), group.endpoint.text() + ": " + error);
          break;
        }
        results[group.indices[done]] = from_reply(std::move(reply));
      }
      if (done == group.indices.size()) {
        give_back(std::move(group.borrowed));
        return;
      }
    }
    // A connection that sat idle may have died with a server restart: when nothing was
    // read from it and it did not time out, send the group once more on a fresh one.
    const bool stale_idle = group.borrowed.connection && group.borrowed.connection->reused &&
                            done == 0 && group.failure.status == Status::lost;
    group.borrowed.connection.reset();
    if (group.borrowed.pool) group.borrowed.pool->drop_idle();
    if (attempt == 0 && stale_idle) {
      group.borrowed.connection = group.borrowed.pool->take(group.failure, /*fresh=*/true);
      group.sent = false;
      if (group.borrowed.connection) {
        for (std::size_t index : group.indices) append_call(*group.borrowed.connection, calls[index], false);
        std::string error;
        group.sent = group.borrowed.connection->flush(error);
        if (group.sent) continue;
        group.failure = failed(failure_status(error), group.endpoint.text() + ": " + error);
      }
    }
    for (std::size_t i = done; i < group.indices.size(); ++i) results[group.indices[i]] = copy_of(group.failure);
    return;
  }
}

std::vector<Result> Router::run(std::span<const Call> calls) {
  std::vector<Result> results(calls.size());
  Result failure;
  auto known = topology(failure);
  if (!known) {
    for (auto& result : results) result = copy_of(failure);
    return results;
  }
  std::vector<Group> groups;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const Endpoint node = node_for(*known, calls[i].route);
    auto group = std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.endpoint == node; });
    if (group == groups.end()) {
      groups.emplace_back();
      groups.back().endpoint = node;
      group = groups.end() - 1;
    }
    group->indices.push_back(i);
  }
  // Every node gets its commands before any reply is awaited: one round trip in all.
  for (auto& group : groups) start_group(group, calls);
  for (auto& group : groups) finish_group(group, calls, results);
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (results[i].status == Status::server_error) {
      const std::string_view error = results[i].error;
      if (starts_with(error, "MOVED ") || starts_with(error, "ASK ") ||
          starts_with(error, "TRYAGAIN") || starts_with(error, "NOSCRIPT")) {
        results[i] = run_redirected(calls[i], std::move(results[i]));
      }
    }
  }
  return results;
}

Result Router::run_one(const Call& call) { return std::move(run(std::span(&call, 1)).front()); }

Result Router::run_redirected(const Call& call, Result result) {
  Endpoint target;
  bool asking = false;
  bool as_eval = false;
  bool have_target = false;
  for (int redirect = 0; redirect < kMaxRedirects && result.status == Status::server_error; ++redirect) {
    const std::string_view error = result.error;
    if (starts_with(error, "MOVED ")) {
      moved(error);
      have_target = parse_endpoint(error.substr(error.rfind(' ') + 1), target);
      asking = false;
    } else if (starts_with(error, "ASK ")) {
      have_target = parse_endpoint(error.substr(error.rfind(' ') + 1), target);
      asking = true;
    } else if (starts_with(error, "TRYAGAIN")) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20 << redirect));
      asking = false;
    } else if (starts_with(error, "NOSCRIPT")) {
      as_eval = true;
    } else {
      break;
    }
    if (!have_target) {
      Result failure;
      auto known = topology(failure);
      if (!known) return failure;
      target = node_for(*known, call.route);
      have_target = true;
    }
    Borrowed borrowed;
    borrowed.pool = pool_for(target);
    borrowed.connection = borrowed.pool->take(result);
    if (!borrowed.connection) return result;
    if (asking) {
      const std::string_view asking_command[] = {"ASKING"};
      borrowed.connection->append(asking_command);
    }
    append_call(*borrowed.connection, call, as_eval);
    std::string io_error;
    ReplyPtr reply;
    if (asking) {
      reply = borrowed.connection->read(io_error);  // +OK of ASKING
      if (reply) reply = borrowed.connection->read(io_error);
    } else {
      reply = borrowed.connection->read(io_error);
    }
    if (!reply) {
      borrowed.pool->drop_idle();
      return failed(failure_status(io_error), target.text() + ": " + io_error);
    }
    result = from_reply(std::move(reply));
    give_back(std::move(borrowed));
    if (result.status == Status::server_error && starts_with(result.error, "NOSCRIPT")) as_eval = true;
  }
  return result;
}

Router::Borrowed Router::borrow(std::string_view route, Result& failure) {
  Borrowed borrowed;
  auto known = topology(failure);
  if (!known) return borrowed;
  borrowed.pool = pool_for(node_for(*known, route));
  borrowed.connection = borrowed.pool->take(failure);
  return borrowed;
}

void Router::give_back(Borrowed borrowed) {
  if (borrowed.pool) borrowed.pool->give_back(std::move(borrowed.connection));  // drops a broken one
}

std::unique_ptr<Connection> Router::dedicated(std::string_view route, Result& failure) {
  auto known = topology(failure);
  if (!known) return nullptr;
  return pool_for(node_for(*known, route))->open_dedicated(failure);
}

}  // namespace memo::redis
