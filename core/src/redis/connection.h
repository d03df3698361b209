// One blocking connection to one Redis server, through hiredis, with a connect timeout,
// a per-operation (socket) timeout, AUTH and SELECT done on open. Internal to the memo
// library.
//
// A Connection is used by one thread at a time (the pool hands it out). Any transport
// failure -- refused, reset, timed out, a protocol error -- marks it broken(): its
// stream position is unknown, so it must be dropped, never reused. Errors the server
// sends (an -ERR reply) are replies, not failures, and leave it usable.
//
// Two ways to talk:
//   append() + read()        hiredis pipelining, for ordinary commands.
//   send_raw() + read_bulk_into()
//                            zero-copy transfer of large values: the command's arguments
//                            are written straight from the caller's memory (writev) and a
//                            bulk reply is received straight into the caller's buffer, so
//                            a chunk of a cached value is copied once by the kernel and
//                            never by hiredis. Used only while nothing else is pending.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "url.h"

struct redisContext;
struct redisReply;

namespace memo::redis {

struct ReplyDeleter {
  void operator()(redisReply* reply) const;
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

struct ConnectSettings {
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{2000};
  std::string user;
  std::string password;
  int db = 0;
};

class Connection {
 public:
  // Null on failure, with `error` saying why (never containing the password).
  static std::unique_ptr<Connection> open(const Endpoint& endpoint, const ConnectSettings& settings,
                                          std::string& error);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const Endpoint& endpoint() const { return endpoint_; }
  bool broken() const { return broken_; }

  // Queues a command; nothing is sent until read().
  void append(std::span<const std::string_view> args);
  // Sends what is queued (read() does it too; a batch over several nodes flushes them
  // all before reading any). False on a transport failure.
  bool flush(std::string& error);
  // Sends what is queued and reads the next reply. Null on a transport failure (the
  // connection is then broken and `error` says why).
  ReplyPtr read(std::string& error);
  // append() + read().
  ReplyPtr command(std::span<const std::string_view> args, std::string& error);

  // Writes one command straight from the arguments' memory. Requires nothing queued.
  bool send_raw(std::span<const std::string_view> args, std::string& error);
  enum class Bulk { value, nil, error_reply, wrong_size, failed };
  // Reads one reply: a bulk string of exactly `size` bytes goes into `destination`
  // (value); a nil reply is `nil`; an -ERR reply is `error_reply` with its text in
  // `error`; a bulk of another size is `wrong_size` (the stored value was altered); a
  // transport failure is `failed`. wrong_size and failed break the connection.
  // Requires that hiredis holds no buffered input.
  Bulk read_bulk_into(std::byte* destination, std::size_t size, std::string& error);

  // True once a reply (or part of one) can be read: hiredis holds buffered input or the
  // socket is readable. False when `timeout` passed first. Breaks nothing either way.
  bool wait_readable(std::chrono::milliseconds timeout);
  // Marks the connection unusable (replies are still in flight that nobody will read).
  void abandon() { broken_ = true; }

  // The socket timeout for later operations (a blocking wait uses a longer one).
  void set_timeout(std::chrono::milliseconds timeout);
  std::chrono::milliseconds timeout() const { return timeout_; }

  // True when the connection came from a pool's idle list (it may have gone stale
  // while idle, e.g. the server restarted).
  bool reused = false;

 private:
  Connection(redisContext* context, Endpoint endpoint, std::chrono::milliseconds timeout);
  std::string transport_error();
  bool fail(std::string& error, std::string text);
  bool read_line(std::string& line, std::string& error);
  bool read_exact(std::byte* destination, std::size_t size, std::string& error);

  redisContext* context_;
  std::string pending_;  // commands framed by append(), sent by the next read
  Endpoint endpoint_;
  std::chrono::milliseconds timeout_;
  bool broken_ = false;
};

// The text of an -ERR reply, or of a reply of an unexpected type.
std::string describe(const redisReply* reply);
bool is_error(const redisReply* reply);
bool is_nil(const redisReply* reply);
std::string_view as_text(const redisReply* reply);  // a string/status reply's bytes

}  // namespace memo::redis
