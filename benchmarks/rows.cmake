# memo_rows: the caching guide's row table, copy strategies against memcpy
# (benchmarks/rows.cpp; scripts/run_rows drives it and adds the pickle baseline).
add_executable(memo_rows ${CMAKE_CURRENT_LIST_DIR}/rows.cpp ${CMAKE_CURRENT_LIST_DIR}/rows_inputs.cpp)
target_include_directories(memo_rows PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(memo_rows PRIVATE memo_bench_main)

if(MEMO_BUILD_TESTS)
  # Smoke test: every strategy, phase and engine at 100k rows, each checksum checked;
  # rows_table.py then fails on any benchmark that reported an error.
  add_test(NAME rows_bench_smoke
           COMMAND ${CMAKE_COMMAND} -E env MEMO_ROWS_BIN=$<TARGET_FILE:memo_rows>
                   ${CMAKE_SOURCE_DIR}/scripts/run_rows --smoke
                   --out ${CMAKE_CURRENT_BINARY_DIR}/rows-smoke)
  set_tests_properties(rows_bench_smoke PROPERTIES LABELS bench TIMEOUT 300)
  # Bad input is a clear message and exit status 2, never the default workload.
  add_test(NAME rows_bench_rejects_bad_flags COMMAND memo_rows --rows=0)
  add_test(NAME rows_bench_rejects_unknown_store COMMAND memo_rows --stores=no_such_engine)
  add_test(NAME rows_bench_rejects_bad_redis_max_rows COMMAND memo_rows --redis_max_rows=many)
  set_tests_properties(rows_bench_rejects_bad_flags rows_bench_rejects_unknown_store
                       rows_bench_rejects_bad_redis_max_rows
                       PROPERTIES LABELS bench WILL_FAIL TRUE)
endif()
