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
memo_bad_input(memo_rows_impossible_rows "not a possible size" $<TARGET_FILE:memo_rows> --rows=1000G)
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
