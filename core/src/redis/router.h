// Router: sends commands to the Redis server -- or, for a Redis Cluster, to the node
// that owns each command's key -- over pooled connections. Internal to the memo library.
//
// Why it exists: hiredis 0.14 has no cluster support and a hiredis context is not
// thread safe. The router gives every thread its own connection from a per-node pool
// (so a slow reply on one key never holds up another thread), pipelines the commands
// of one batch per node (one round trip per node, the nodes written before any is
// read), and hides the cluster:
//   - the slot map comes from CLUSTER SLOTS on first use (a server that answers "cluster
//     support disabled" is standalone);
//   - MOVED updates the slot at once and refreshes the whole map before the next batch;
//     ASK sends ASKING + the command to the importing node without touching the map;
//     TRYAGAIN (a slot being migrated) is retried after a short pause;
//   - NOSCRIPT (a node that restarted or never saw the script) re-sends it as EVAL.
// Faults never throw: a call's Result says ok, a server error (its text), or a
// transport failure: unreachable (connect refused or timed out; the node is then not
// retried for a short back-off so calls fail fast during an outage), timed out, or
// lost. A connection that failed is dropped, and so are the node's idle connections
// (after a restart they are all dead); a call that failed on a connection reused from
// the pool with a closed/reset socket is retried once on a fresh connection.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "connection.h"
#include "sha1.h"
#include "url.h"

namespace memo::redis {

struct Script {
  explicit Script(std::string source) : text(std::move(source)), sha(sha1_hex(text)) {}
  const std::string text;
  const std::string sha;
};

struct Call {
  std::string_view route;              // a key the command touches: its slot picks the node
  std::vector<std::string_view> args;  // the command; for a script: numkeys, keys, argv
  const Script* script = nullptr;      // set: sent as EVALSHA <sha> args... (EVAL if unknown)
};

enum class Status { ok, server_error, unreachable, timed_out, lost };

struct Result {
  Status status = Status::lost;
  ReplyPtr reply;     // set for ok and server_error
  std::string error;  // server_error: the server's text; failures: what went wrong
  bool ok() const { return status == Status::ok; }
  bool transport_failure() const {
    return status == Status::unreachable || status == Status::timed_out || status == Status::lost;
  }
};

class NodePool;

class Router {
 public:
  Router(ServerAddress address, ConnectSettings settings);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Runs every call, each on the node owning its route; replies in call order.
  std::vector<Result> run(std::span<const Call> calls);
  Result run_one(const Call& call);

  // A pooled connection to the node owning `route`, for raw transfers (chunks). Null on
  // failure with `failure` filled. Give it back with give_back (broken ones are dropped).
  struct Borrowed {
    std::shared_ptr<NodePool> pool;
    std::unique_ptr<Connection> connection;
  };
  Borrowed borrow(std::string_view route, Result& failure);
  void give_back(Borrowed borrowed);
  // A connection nobody else will use (e.g. for a blocking pub/sub wait), to the node
  // owning `route`. Null on failure with `failure` filled.
  std::unique_ptr<Connection> dedicated(std::string_view route, Result& failure);

  // The slot map or MOVED said the layout changed: refresh before the next batch.
  void topology_changed();
  // Standalone or cluster, once known (false until the first contact succeeded).
  bool is_cluster();
  const ServerAddress& address() const { return address_; }
  // Every node the router knows (the seed alone for a standalone server).
  std::vector<Endpoint> nodes();

 private:
  struct Topology;
  std::shared_ptr<const Topology> topology(Result& failure);
  std::shared_ptr<const Topology> discover(Result& failure);
  std::shared_ptr<NodePool> pool_for(const Endpoint& endpoint);
  Endpoint node_for(const Topology& topology, std::string_view route) const;
  void moved(std::string_view error);
  // Runs `indices` of `calls` on one node, pipelined; fills `results`.
  struct Group;
  void start_group(Group& group, std::span<const Call> calls);
  void finish_group(Group& group, std::span<const Call> calls, std::vector<Result>& results);
  Result run_redirected(const Call& call, Result first);

  const ServerAddress address_;
  const ConnectSettings settings_;
  std::mutex mutex_;  // guards topology_, stale_, pools_
  std::shared_ptr<const Topology> topology_;
  bool stale_ = false;
  std::mutex discover_mutex_;  // one thread (re)discovers at a time
  std::unordered_map<std::string, std::shared_ptr<NodePool>> pools_;
};

}  // namespace memo::redis
