// Parsing of the redis://[user:password@]host:port/db[?option=value&...] addresses the
// Redis store accepts. Internal to the memo library.
//
// The password is kept for AUTH but never printed: where() names a server in messages
// and logs as host:port/db, and a malformed address is reported without its user-info
// part, so a typo in a password cannot leak it into a log either.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace memo::redis {

struct Endpoint {
  std::string host;
  int port = 6379;

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
  // "host:port", with IPv6 hosts in brackets.
  std::string text() const;
};

struct ServerAddress {
  Endpoint endpoint;
  std::string user;      // empty: AUTH with the password alone (or no AUTH)
  std::string password;  // empty: no AUTH
  int db = 0;
  // Query options; zero means "the caller's default".
  std::chrono::milliseconds connect_timeout{0};
  std::chrono::milliseconds command_timeout{0};
  std::chrono::milliseconds lease{0};

  // host:port/db: what messages show. Never the user or the password.
  std::string where() const;
};

// Throws std::invalid_argument for a malformed address; the message quotes the address
// with any user-info replaced by "***".
ServerAddress parse_server_address(std::string_view url);

// `url` with its user-info part (if any) replaced by "***".
std::string redact_url(std::string_view url);

}  // namespace memo::redis
