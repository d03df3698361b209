#!/bin/sh
# expect_output.sh STATUS REGEX [REGEX...] -- COMMAND [ARG...]
# Passes when COMMAND exits with STATUS (a number, or "nonzero") AND its output
# (stdout + stderr) matches every REGEX (grep -E, each somewhere in the output); a REGEX
# written !REGEX must match nowhere.
expected=$1
shift
count=0
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
  count=$((count + 1))
  eval "regex_$count=\$1"
  shift
done
[ "$1" = "--" ] || { echo "usage: expect_output.sh STATUS REGEX... -- COMMAND..."; exit 2; }
shift
output=$("$@" 2>&1)
status=$?
if [ "$expected" = nonzero ]; then
  [ "$status" -ne 0 ] || { echo "expected a non-zero exit from: $*"; echo "$output"; exit 1; }
elif [ "$status" -ne "$expected" ]; then
  echo "expected exit $expected, got $status from: $*"
  echo "$output"
  exit 1
fi
i=1
while [ "$i" -le "$count" ]; do
  eval "regex=\$regex_$i"
  case "$regex" in
    !*)
      if printf '%s\n' "$output" | grep -Eq -- "${regex#!}"; then
        echo "exit $status, but the output has /${regex#!}/:"
        echo "$output"
        exit 1
      fi
      i=$((i + 1))
      continue
      ;;
  esac
  if ! printf '%s\n' "$output" | grep -Eq -- "$regex"; then
    echo "exit $status, but the output lacks /$regex/:"
    echo "$output"
    exit 1
  fi
  i=$((i + 1))
done
echo "exit $status with every expected line"
