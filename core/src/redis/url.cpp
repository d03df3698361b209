#include "url.h"

#include <charconv>
#include <stdexcept>

namespace memo::redis {
namespace {

[[noreturn]] void reject(std::string_view url, std::string_view why) {
  throw std::invalid_argument("memo: bad Redis address '" + redact_url(url) + "': " +
                              std::string(why) +
                              " (expected redis://[user:password@]host:port/db)");
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding, so a password may contain '@', ':' or '/'.
std::string decode(std::string_view url, std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    const int high = i + 1 < text.size() ? hex_digit(text[i + 1]) : -1;
    const int low = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
    if (high < 0 || low < 0) reject(url, "bad %-escape in the user or password");
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

long parse_number(std::string_view url, std::string_view text, std::string_view what, long lo,
                  long hi) {
  long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < lo || value > hi) {
    // The text itself is not quoted: it may be a password that lost its '@'.
    reject(url, std::string(what) + " is not a number in [" + std::to_string(lo) + ", " +
                    std::to_string(hi) + "]");
  }
  return value;
}

}  // namespace

std::string Endpoint::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string ServerAddress::where() const { return endpoint.text() + "/" + std::to_string(db); }

std::string redact_url(std::string_view url) {
  const auto scheme = url.find("://");
  const std::size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const auto end = url.find_first_of("/?", start);
  std::string_view authority = url.substr(start, end == std::string_view::npos ? url.npos : end - start);
  std::string shown;
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    shown = "***@";
    authority.remove_prefix(at + 1);
  }
  // Without its '@' a mistyped "user:password" looks like "host:port": show host:port
  // only when the port is all digits, else hide the whole authority.
  bool plain = true;
  if (const auto colon = authority.rfind(':');
      colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    for (char c : authority.substr(colon + 1)) plain = plain && c >= '0' && c <= '9';
  }
  shown += plain ? std::string(authority) : std::string("***");
  return std::string(url.substr(0, start)) + shown +
         (end == std::string_view::npos ? std::string() : std::string(url.substr(end)));
}

ServerAddress parse_server_address(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) reject(url, "it must start with redis://");
  std::string_view rest = url.substr(kScheme.size());

  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view path;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }

  ServerAddress address;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view info = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (const auto colon = info.find(':'); colon != std::string_view::npos) {
      address.user = decode(url, info.substr(0, colon));
      address.password = decode(url, info.substr(colon + 1));
    } else {
      address.password = decode(url, info);  // redis://secret@host: a password alone
    }
  }

  std::string_view host = rest;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos) reject(url, "unclosed '[' in the host");
    port = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!port.empty()) {
      if (port.front() != ':') reject(url, "junk after the IPv6 host");
      port.remove_prefix(1);
    }
  } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty()) reject(url, "no host");
  address.endpoint.host = std::string(host);
  if (!port.empty()) address.endpoint.port = static_cast<int>(parse_number(url, port, "port", 1, 65535));
  if (!path.empty()) address.db = static_cast<int>(parse_number(url, path, "database", 0, 1 << 20));

  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) reject(url, "option '" + std::string(pair) + "' has no value");
    const std::string_view name = pair.substr(0, eq);
    const auto ms = std::chrono::milliseconds(
        parse_number(url, pair.substr(eq + 1), name, 1, 24L * 3600 * 1000));
    if (name == "timeout_ms") {
      address.command_timeout = ms;
    } else if (name == "connect_timeout_ms") {
      address.connect_timeout = ms;
    } else if (name == "lease_ms") {
      address.lease = ms;
    } else {
      reject(url, "unknown option '" + std::string(name) +
                      "' (known: timeout_ms, connect_timeout_ms, lease_ms)");
    }
  }
  return address;
}

}  // namespace memo::redis
