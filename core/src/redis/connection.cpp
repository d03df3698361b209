#include "connection.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <vector>

namespace memo::redis {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

// RESP framing of one command: "*N\r\n" then "$len\r\n<bytes>\r\n" per argument. The
// argument bytes are not copied: `pieces` holds the framing text and `iov` points at it
// and at the arguments. The pieces are all made before any pointer to them is taken (a
// vector that grows moves its strings, and a short string's bytes move with it).
struct Framed {
  std::vector<std::string> pieces;
  std::vector<iovec> iov;
};

void frame(std::span<const std::string_view> args, Framed& out) {
  const std::size_t first = out.pieces.size();
  std::string text = "*";
  text += std::to_string(args.size());
  text += "\r\n";
  out.pieces.push_back(std::move(text));
  for (std::size_t i = 0; i < args.size(); ++i) {
    text = i ? "\r\n$" : "$";
    text += std::to_string(args[i].size());
    text += "\r\n";
    out.pieces.push_back(std::move(text));
  }
  out.pieces.emplace_back("\r\n");
  auto add = [&](const void* data, std::size_t size) {
    if (size) out.iov.push_back({const_cast<void*>(data), size});
  };
  // pieces[first] is "*N", pieces[first + 1 + i] the header of argument i, then "\r\n".
  for (std::size_t i = 0; i < args.size() + 2; ++i) {
    const std::string& piece = out.pieces[first + i];
    add(piece.data(), piece.size());
    if (i >= 1 && i <= args.size()) add(args[i - 1].data(), args[i - 1].size());
  }
}

void append_framed(std::string& buffer, std::span<const std::string_view> args) {
  buffer += '*';
  buffer += std::to_string(args.size());
  buffer += "\r\n";
  for (auto arg : args) {
    buffer += '$';
    buffer += std::to_string(arg.size());
    buffer += "\r\n";
    buffer.append(arg);
    buffer += "\r\n";
  }
}

}  // namespace

void ReplyDeleter::operator()(redisReply* reply) const { freeReplyObject(reply); }

bool is_error(const redisReply* reply) { return reply && reply->type == REDIS_REPLY_ERROR; }
bool is_nil(const redisReply* reply) { return reply && reply->type == REDIS_REPLY_NIL; }

std::string_view as_text(const redisReply* reply) {
  if (reply && (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS ||
                reply->type == REDIS_REPLY_ERROR)) {
    return {reply->str, reply->len};
  }
  return {};
}

std::string describe(const redisReply* reply) {
  if (!reply) return "no reply";
  switch (reply->type) {
    case REDIS_REPLY_ERROR: return std::string(reply->str, reply->len);
    case REDIS_REPLY_STRING: return "a string reply";
    case REDIS_REPLY_STATUS: return "status " + std::string(reply->str, reply->len);
    case REDIS_REPLY_INTEGER: return "integer " + std::to_string(reply->integer);
    case REDIS_REPLY_NIL: return "a nil reply";
    case REDIS_REPLY_ARRAY: return "an array of " + std::to_string(reply->elements);
  }
  return "a reply of unknown type";
}

Connection::Connection(redisContext* context, Endpoint endpoint, std::chrono::milliseconds timeout)
    : context_(context), endpoint_(std::move(endpoint)), timeout_(timeout) {}

Connection::~Connection() { redisFree(context_); }

std::unique_ptr<Connection> Connection::open(const Endpoint& endpoint, const ConnectSettings& settings,
                                             std::string& error) {
  redisContext* context =
      redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, to_timeval(settings.connect_timeout));
  if (!context) {
    error = "cannot allocate a connection";
    return nullptr;
  }
  if (context->err) {
    error = context->errstr;
    if (error == "Resource temporarily unavailable" || error.find("timed out") != std::string::npos) {
      error = "connect timed out after " + std::to_string(settings.connect_timeout.count()) + " ms";
    }
    redisFree(context);
    return nullptr;
  }
  std::unique_ptr<Connection> connection(new Connection(context, endpoint, settings.command_timeout));
  redisEnableKeepAlive(context);
  connection->set_timeout(settings.command_timeout);
  if (!settings.password.empty()) {
    std::vector<std::string_view> auth{"AUTH"};
    if (!settings.user.empty()) auth.push_back(settings.user);
    auth.push_back(settings.password);
    ReplyPtr reply = connection->command(auth, error);
    if (!reply) return nullptr;
    if (is_error(reply.get())) {
      error = "authentication failed: " + describe(reply.get());
      return nullptr;
    }
  }
  if (settings.db != 0) {
    const std::string db = std::to_string(settings.db);
    const std::string_view select[] = {"SELECT", db};
    ReplyPtr reply = connection->command(select, error);
    if (!reply) return nullptr;
    if (is_error(reply.get())) {
      error = "cannot select database " + db + ": " + describe(reply.get());
      return nullptr;
    }
  }
  return connection;
}

void Connection::set_timeout(std::chrono::milliseconds timeout) {
  timeout_ = timeout;
  redisSetTimeout(context_, to_timeval(timeout));
}

bool Connection::wait_readable(std::chrono::milliseconds timeout) {
  if (context_->reader->len != context_->reader->pos) return true;
  pollfd watch{context_->fd, POLLIN, 0};
  for (;;) {
    const int ready = ::poll(&watch, 1, static_cast<int>(timeout.count()));
    if (ready >= 0) return ready > 0;
    if (errno != EINTR) return true;  // let the read that follows report the failure
  }
}

std::string Connection::transport_error() {
  const int err = errno;
  if (err == EAGAIN || err == EWOULDBLOCK) {
    return "timed out after " + std::to_string(timeout_.count()) + " ms";
  }
  return std::strerror(err);
}

bool Connection::fail(std::string& error, std::string text) {
  broken_ = true;
  error = std::move(text);
  return false;
}

// Everything written to the socket goes through here (never through hiredis, whose
// write() would raise SIGPIPE in the process when the server has gone).
namespace {
bool send_all(int fd, std::vector<iovec>& iov, std::string& why, std::chrono::milliseconds timeout) {
  std::size_t first = 0;
  while (first < iov.size()) {
    msghdr message{};
    message.msg_iov = iov.data() + first;
    message.msg_iovlen = std::min<std::size_t>(iov.size() - first, IOV_MAX);
    const ssize_t sent = ::sendmsg(fd, &message, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      why = errno == EAGAIN || errno == EWOULDBLOCK
                ? "timed out after " + std::to_string(timeout.count()) + " ms"
                : std::string(std::strerror(errno));
      return false;
    }
    auto left = static_cast<std::size_t>(sent);
    while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (left) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return true;
}
}  // namespace

void Connection::append(std::span<const std::string_view> args) { append_framed(pending_, args); }

bool Connection::flush(std::string& error) {
  if (broken_) return fail(error, "connection already failed");
  if (pending_.empty()) return true;
  std::vector<iovec> iov{{pending_.data(), pending_.size()}};
  std::string why;
  const bool sent = send_all(context_->fd, iov, why, timeout_);
  pending_.clear();
  return sent || fail(error, why);
}

ReplyPtr Connection::read(std::string& error) {
  if (!flush(error)) return nullptr;
  void* reply = nullptr;
  if (redisGetReply(context_, &reply) != REDIS_OK || !reply) {
    std::string why = context_->errstr;
    if (why == "Resource temporarily unavailable") {
      why = "timed out after " + std::to_string(timeout_.count()) + " ms";
    }
    fail(error, why.empty() ? "connection failed" : why);
    return nullptr;
  }
  return ReplyPtr(static_cast<redisReply*>(reply));
}

ReplyPtr Connection::command(std::span<const std::string_view> args, std::string& error) {
  append(args);
  return read(error);
}

bool Connection::send_raw(std::span<const std::string_view> args, std::string& error) {
  if (broken_) return fail(error, "connection already failed");
  Framed framed;
  if (!pending_.empty()) framed.iov.push_back({pending_.data(), pending_.size()});
  frame(args, framed);
  std::string why;
  const bool sent = send_all(context_->fd, framed.iov, why, timeout_);
  pending_.clear();
  return sent || fail(error, why);
}

bool Connection::read_line(std::string& line, std::string& error) {
  line.clear();
  // Byte by byte: a reply header is a dozen bytes and reading further would swallow the
  // start of the next reply. Its cost is nothing beside the chunk that follows.
  for (;;) {
    char c;
    const ssize_t got = ::recv(context_->fd, &c, 1, 0);
    if (got == 1) {
      if (c == '\n') {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return true;
      }
      if (line.size() > 4096) return fail(error, "protocol error: reply line too long");
      line += c;
      continue;
    }
    if (got == 0) return fail(error, "server closed the connection");
    if (errno == EINTR) continue;
    return fail(error, transport_error());
  }
}

bool Connection::read_exact(std::byte* destination, std::size_t size, std::string& error) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t got = ::recv(context_->fd, destination + done, size - done, 0);
    if (got > 0) {
      done += static_cast<std::size_t>(got);
      continue;
    }
    if (got == 0) return fail(error, "server closed the connection");
    if (errno == EINTR) continue;
    return fail(error, transport_error());
  }
  return true;
}

Connection::Bulk Connection::read_bulk_into(std::byte* destination, std::size_t size,
                                            std::string& error) {
  if (!flush(error)) return Bulk::failed;
  if (context_->reader->len != context_->reader->pos) {
    fail(error, "internal error: raw read with buffered input");
    return Bulk::failed;
  }
  std::string line;
  if (!read_line(line, error)) return Bulk::failed;
  if (line.empty()) {
    fail(error, "protocol error: empty reply line");
    return Bulk::failed;
  }
  if (line[0] == '-') {
    error = line.substr(1);
    return Bulk::error_reply;
  }
  if (line == "$-1") return Bulk::nil;
  long long length = -1;
  if (line[0] == '$') std::from_chars(line.data() + 1, line.data() + line.size(), length);
  if (length < 0) {
    fail(error, "protocol error: unexpected reply '" + line.substr(0, 32) + "'");
    return Bulk::failed;
  }
  if (static_cast<std::size_t>(length) != size) {
    fail(error, "a value chunk has " + std::to_string(length) + " bytes where its manifest says " +
                    std::to_string(size));
    return Bulk::wrong_size;
  }
  std::byte crlf[2];
  if (!read_exact(destination, size, error) || !read_exact(crlf, 2, error)) return Bulk::failed;
  return Bulk::value;
}

}  // namespace memo::redis
