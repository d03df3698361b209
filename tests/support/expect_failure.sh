#!/bin/sh
# expect_failure.sh REGEX COMMAND [ARG...]
# Passes when COMMAND exits non-zero AND its output (stdout + stderr) matches REGEX:
# bad input must be refused loudly, never run with a default or die silently.
regex=$1
shift
output=$("$@" 2>&1)
status=$?
if [ "$status" -eq 0 ]; then
  echo "expected a non-zero exit from: $*"
  echo "$output"
  exit 1
fi
if ! printf '%s\n' "$output" | grep -Eq -- "$regex"; then
  echo "exit $status, but the output lacks /$regex/:"
  echo "$output"
  exit 1
fi
echo "refused with exit $status and /$regex/"
