# memo_races: the guide's mutation and concurrency scenarios (benchmarks/races.cpp).
add_executable(memo_races ${CMAKE_CURRENT_LIST_DIR}/races.cpp ${CMAKE_CURRENT_LIST_DIR}/races_processes.cpp)
# tests/ for support/child_process.h, the process helper the redis tests use too.
target_include_directories(memo_races PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_link_libraries(memo_races PRIVATE memo_bench_main memo_scenarios)

if(MEMO_BUILD_TESTS)
  # Smoke test: every scenario, strategy and store at tiny sizes, each invariant checked;
  # races_table.py fails on any benchmark that reported an error.
  add_test(NAME races_bench_smoke
           COMMAND ${CMAKE_COMMAND} -E env
                   MEMO_RACES_BIN=$<TARGET_FILE:memo_races>
                   ${CMAKE_SOURCE_DIR}/scripts/run_races --smoke
                   --out ${CMAKE_CURRENT_BINARY_DIR}/races-smoke)
  set_tests_properties(races_bench_smoke PROPERTIES LABELS bench TIMEOUT 300)
endif()
