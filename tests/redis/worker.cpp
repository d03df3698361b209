// A process of its own for the redis store's multi-process tests: it opens the store on
// a namespace given on the command line and plays one part of a herd, printing what
// happened on stdout (one line per step) so the test can follow it.
//
//   memo_redis_worker herd  URL NS KEY COMPUTE_MS LEASE_MS COUNTER_URL COUNTER
//       begin_miss(KEY): a published value -> "published <value> <ms>"; the lease ->
//       INCR COUNTER on the standalone server COUNTER_URL (the computations, counted
//       where every process sees them), sleep COMPUTE_MS, publish
//       "value-<pid>" -> "computed <value> <ms>"; no coordination -> "uncoordinated".
//   memo_redis_worker hold  URL NS KEY LEASE_MS
//       takes the lease, prints "holding" and sleeps until killed (kill -9 = a crash).
//   memo_redis_worker throw URL NS KEY COMPUTE_MS LEASE_MS
//       takes the lease, prints "holding", sleeps COMPUTE_MS, then drops the lease
//       unpublished (as a function that throws) and prints "released".
// NS is the namespace key as 32 hex digits (Key::hex()), KEY a number.
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "../../core/src/cache/entries.h"
#include "memo/stores/redis.h"
#include "support/redis_testing.h"

namespace {

memo::Key parse_key(const std::string& hex) {
  memo::Key key;
  std::from_chars(hex.data(), hex.data() + 16, key.hi, 16);
  std::from_chars(hex.data() + 16, hex.data() + 32, key.lo, 16);
  return key;
}

memo::Key entry_key(const std::string& number) {
  const std::uint64_t n = std::stoull(number);
  return {n * 0x9E3779B97F4A7C15ULL + 1, n ^ 0x5bd1e995ULL};
}

void say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace std::chrono;
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() < 5) {
    std::fprintf(stderr, "usage: see tests/redis/worker.cpp\n");
    return 2;
  }
  const std::string& mode = args[0];
  memo::StoreConfig config;
  config.server = args[1];
  config.namespace_key = parse_key(args[2]);
  config.warn = [](std::string_view text) { std::fprintf(stderr, "%.*s\n", static_cast<int>(text.size()), text.data()); };
  const memo::Key key = entry_key(args[3]);
  memo::RedisStoreOptions options;
  const std::size_t lease_arg = mode == "hold" ? 4 : 5;
  options.lease = milliseconds(std::stoll(args[lease_arg]));
  auto store = memo::make_redis_store(config, options);
  const auto start = steady_clock::now();
  auto elapsed_ms = [&] { return std::to_string(duration_cast<milliseconds>(steady_clock::now() - start).count()); };

  memo::MissTicket ticket = store->begin_miss(key, memo::Clock::now());
  if (ticket.published) {
    const auto& entry = static_cast<const memo::detail::DataEntry&>(*ticket.published);
    const auto bytes = entry.persistable_bytes();
    say("published " + std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()) + " " + elapsed_ms());
    return 0;
  }
  if (!ticket.lease) {
    say("uncoordinated");
    return 0;
  }
  if (mode == "hold") {
    say("holding");
    for (;;) ::pause();
  }
  const auto compute = milliseconds(std::stoll(args[4]));
  if (mode == "throw") {
    say("holding");
    std::this_thread::sleep_for(compute);
    ticket.lease.reset();
    say("released");
    return 0;
  }
  if (mode != "herd" || args.size() < 8) return 2;
  if (memo_test::redis::Admin(args[6]).run({"INCR", args[7]}) == "") return 3;
  std::this_thread::sleep_for(compute);
  const std::string value = "value-" + std::to_string(::getpid());
  ticket.lease->publish(std::make_shared<const memo::detail::DataEntry>(
      memo::Entry::never, memo::make_payload(value), std::vector<std::string>{"computed by " + value}));
  say("computed " + value + " " + elapsed_ms());
  return 0;
}
