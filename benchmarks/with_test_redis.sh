#!/bin/sh
# with_test_redis.sh BINARY [ARGS...]: runs a benchmark's smoke test on the test Redis
# server, $MEMO_TEST_REDIS_URL (scripts/test starts one), passing it as --redis_url, and
# fails when the binary fails or any benchmark reported an error (a failed check).
# Without a server the test is skipped (exit 77), or fails when MEMO_TEST_REDIS_REQUIRED
# is set.
if [ -z "$MEMO_TEST_REDIS_URL" ]; then
  echo "SKIPPED: no MEMO_TEST_REDIS_URL (see scripts/redis-servers)"
  [ -n "$MEMO_TEST_REDIS_REQUIRED" ] && exit 1
  exit 77
fi
out=$(mktemp "${TMPDIR:-/tmp}/memo-smoke.XXXXXX.json")
trap 'rm -f "$out"' EXIT
"$@" --redis_url="$MEMO_TEST_REDIS_URL" --benchmark_out="$out" --benchmark_out_format=json || exit 1
if grep -q '"error_occurred": true' "$out"; then
  echo "FAILED: a benchmark reported an error:"
  grep '"error_message"' "$out"
  exit 1
fi
grep -q '"name"' "$out" || { echo "FAILED: no benchmark ran"; exit 1; }
