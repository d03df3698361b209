# Smoke tests of the benchmarks' redis parts, at tiny sizes, on the test server: the
# redis engine in memo_stores, cache_data on the redis store in memo_rows, and the
# multi-process herd in memo_races (the cache layer over the store, end to end).
# The server is $MEMO_TEST_REDIS_URL (scripts/test starts one); without it they skip
# (exit 77), unless MEMO_TEST_REDIS_REQUIRED is set, when they fail.
if(MEMO_HAVE_HIREDIS AND MEMO_BUILD_TESTS)
  set(memo_with_test_redis ${CMAKE_CURRENT_LIST_DIR}/with_test_redis.sh)
  add_test(NAME memo_stores_redis_smoke
           COMMAND ${memo_with_test_redis} $<TARGET_FILE:memo_stores> --engines=redis --keys=500
                   --threads=1,2 --workloads=read_heavy_zipf,mixed_uniform,eviction_zipf,hot_key
                   --benchmark_min_time=0.01)
  add_test(NAME rows_bench_redis_smoke
           COMMAND ${memo_with_test_redis} $<TARGET_FILE:memo_rows> --rows=100k --stores=mutex_map
                   --strategies=cache_data --references=off)
  add_test(NAME races_bench_process_herd_smoke
           COMMAND ${memo_with_test_redis} $<TARGET_FILE:memo_races> --scenarios=process_herd
                   --process_herd=2,3 --process_herds=2 --process_compute_ms=20)
  set_tests_properties(memo_stores_redis_smoke rows_bench_redis_smoke races_bench_process_herd_smoke
                       PROPERTIES LABELS bench TIMEOUT 300 SKIP_RETURN_CODE 77)
endif()
