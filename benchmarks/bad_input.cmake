# Every benchmark binary and script refuses bad flags and impossible sizes with a clear
# message and a non-zero exit (tests/support/expect_failure.sh checks both).
set(MEMO_EXPECT_FAILURE ${PROJECT_SOURCE_DIR}/tests/support/expect_failure.sh)
set(MEMO_PY /usr/bin/python3)
set(MEMO_SCRIPTS ${PROJECT_SOURCE_DIR}/scripts)

function(memo_bad_input name regex)
  add_test(NAME bad_input_${name} COMMAND ${MEMO_EXPECT_FAILURE} "${regex}" ${ARGN})
  set_tests_properties(bad_input_${name} PROPERTIES LABELS unit TIMEOUT 60)
endfunction()

foreach(binary memo_rows memo_races memo_stores)
  memo_bad_input(${binary}_unknown_flag "unknown flag '--no_such_flag'"
                 $<TARGET_FILE:${binary}> --no_such_flag=1)
  memo_bad_input(${binary}_not_a_flag "expected --name=value" $<TARGET_FILE:${binary}> rows)
endforeach()
memo_bad_input(memo_rows_not_a_count "'abc' is not a non-negative count"
               $<TARGET_FILE:memo_rows> --rows=abc)
memo_bad_input(memo_rows_impossible_rows "--rows: '1000G' is out of range" $<TARGET_FILE:memo_rows> --rows=1000G)
memo_bad_input(memo_rows_signed_count "--rows: '\\+5' is not a non-negative count" $<TARGET_FILE:memo_rows> --rows=+5)
memo_bad_input(memo_rows_spaced_count "--rows: ' 5' is not a non-negative count" $<TARGET_FILE:memo_rows> "--rows= 5")
memo_bad_input(memo_rows_missing_value "--rows needs a value" $<TARGET_FILE:memo_rows> --rows)
memo_bad_input(memo_rows_bad_switch "--block_pool: 'maybe' is not one of on, off" $<TARGET_FILE:memo_rows>
               --block_pool maybe)
memo_bad_input(memo_rows_unknown_store "unknown store" $<TARGET_FILE:memo_rows> --stores=no_such_store)
memo_bad_input(memo_races_too_many_sessions "sessions values must be" $<TARGET_FILE:memo_races>
               --sessions=100000)
memo_bad_input(memo_stores_impossible_keys "--keys takes one count" $<TARGET_FILE:memo_stores>
               --keys=100G)
memo_bad_input(memo_stores_zero_threads "each count must be" $<TARGET_FILE:memo_stores> --threads=0)

memo_bad_input(pickle_baseline_not_a_count "is not a count" ${MEMO_PY} ${MEMO_SCRIPTS}/pickle_baseline.py
               --rows=abc --out /tmp/memo-bad-input.json)
memo_bad_input(compare_missing_file "no such file" ${MEMO_PY} ${MEMO_SCRIPTS}/compare.py engines
               /nonexistent/stores.json)
memo_bad_input(compare_unknown_command "invalid choice" ${MEMO_PY} ${MEMO_SCRIPTS}/compare.py frobnicate)
foreach(driver run run_rows run_races run_stores)
  memo_bad_input(${driver}_unknown_option "unknown (option|argument)" ${MEMO_SCRIPTS}/${driver} --no-such-option)
endforeach()
memo_bad_input(fuzz_bad_seconds "whole number" ${MEMO_SCRIPTS}/fuzz soon)

# --help (and -h): every suite flag with its description and default, then Google
# Benchmark's flags, exit 0. `--flag value` works as `--flag=value` does. A run that
# measured nothing (every case skipped for lack of memory) says so and fails.
set(MEMO_EXPECT_OUTPUT ${PROJECT_SOURCE_DIR}/tests/support/expect_output.sh)
function(memo_expect_output name status)
  add_test(NAME ${name} COMMAND ${MEMO_EXPECT_OUTPUT} ${status} ${ARGN})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 120)
endfunction()
memo_expect_output(memo_rows_help 0 "--rows +frame sizes in rows.*default: 10M,50M,100M,200M"
                   "--block_pool +on, or off" "Google Benchmark's flags" "--benchmark_filter"
                   -- $<TARGET_FILE:memo_rows> --help)
memo_expect_output(memo_rows_short_help 0 "--references +on or off" "--benchmark_filter"
                   -- $<TARGET_FILE:memo_rows> -h)
memo_expect_output(memo_races_help 0 "--sessions +session counts.*default: 2,4,16,64"
                   "--compute_us +how long" "--benchmark_repetitions" -- $<TARGET_FILE:memo_races> --help)
memo_expect_output(memo_stores_help 0 "--keys +keys each workload.*default: 1M"
                   "--latency_every +time one operation" "--benchmark_repetitions"
                   -- $<TARGET_FILE:memo_stores> --help)
# ... and the JSON records what the binary was built from, beside the machine.
memo_expect_output(memo_rows_flag_space_value 0 "rows/cache_resource/first/mutex_map/rows:1000/"
                   "\"memo_git_commit\": \"" "\"memo_compiler\": \"" "\"memo_compile_flags\": \".*std=c\\+\\+20"
                   "\"hardware_threads\": \"[0-9]+\""
                   -- $<TARGET_FILE:memo_rows> --rows 1k --stores mutex_map --strategies cache_resource
                   --references off --benchmark_filter first --benchmark_format json)
memo_expect_output(memo_rows_measured_nothing nonzero "skipped: rows:68719476736 needs"
                   "measured nothing: all 3 benchmarks were skipped"
                   -- $<TARGET_FILE:memo_rows> --rows=68719476736 --stores=mutex_map
                   --strategies=cache_resource --references=off)
# With repetitions, every repetition of a skipped case repeats the skip's own reason
# (after the first, the case is not tried again: bench_main.h says why).
memo_expect_output(memo_rows_skip_reason_repeated nonzero "skipped: rows:68719476736 needs"
                   "!earlier repetition of this benchmark failed"
                   -- $<TARGET_FILE:memo_rows> --rows=68719476736 --stores=mutex_map
                   --strategies=cache_resource --references=off --benchmark_repetitions=2)
