# memo_stores: store engines beside their peers (benchmarks/stores.cpp). Peers join
# when their Debian package is found and are skipped with a message otherwise.
set(MEMO_STORES_DIR ${CMAKE_CURRENT_LIST_DIR})
add_executable(memo_stores
  ${MEMO_STORES_DIR}/stores.cpp
  ${MEMO_STORES_DIR}/stores_run.cpp
  ${MEMO_STORES_DIR}/stores_workloads.cpp
  ${MEMO_STORES_DIR}/adapters/registry.cpp
  ${MEMO_STORES_DIR}/adapters/memo_store.cpp
  ${MEMO_STORES_DIR}/adapters/redis_store.cpp)
# tests/ for support/zipf.h, the Zipf generator the store tests use too.
target_include_directories(memo_stores PRIVATE ${MEMO_STORES_DIR} ${PROJECT_SOURCE_DIR}/tests)
target_link_libraries(memo_stores PRIVATE memo_bench_main)

find_path(LIBCUCKOO_INCLUDE_DIR libcuckoo/cuckoohash_map.hh)
if(LIBCUCKOO_INCLUDE_DIR)
  target_sources(memo_stores PRIVATE ${MEMO_STORES_DIR}/adapters/libcuckoo.cpp)
  target_include_directories(memo_stores PRIVATE ${LIBCUCKOO_INCLUDE_DIR})
  target_compile_definitions(memo_stores PRIVATE MEMO_HAVE_LIBCUCKOO)
else()
  message(STATUS "memo_stores: libcuckoo headers not found; the libcuckoo peer is skipped")
endif()

# The shared library directly: RocksDB's CMake package drags in gflags, snappy and
# its own FindTBB, none of which the cache API needs.
find_path(ROCKSDB_INCLUDE_DIR rocksdb/cache.h)
find_library(ROCKSDB_LIBRARY rocksdb)
if(ROCKSDB_INCLUDE_DIR AND ROCKSDB_LIBRARY)
  target_sources(memo_stores PRIVATE
    ${MEMO_STORES_DIR}/adapters/rocksdb_lru.cpp
    ${MEMO_STORES_DIR}/adapters/rocksdb_hcc.cpp)
  target_include_directories(memo_stores PRIVATE ${ROCKSDB_INCLUDE_DIR})
  target_link_libraries(memo_stores PRIVATE ${ROCKSDB_LIBRARY})
  target_compile_definitions(memo_stores PRIVATE MEMO_HAVE_ROCKSDB)
else()
  message(STATUS "memo_stores: RocksDB not found; the rocksdb_lru and rocksdb_hcc peers are skipped")
endif()

# Smoke test: every workload and engine at tiny sizes, so a broken checksum or a
# crashing adapter fails CTest. Real figures come from scripts/run_stores.
add_test(NAME memo_stores_smoke
  COMMAND memo_stores --keys=10k --threads=1,2 --benchmark_min_time=0.01
          --benchmark_format=json --benchmark_out=${CMAKE_CURRENT_BINARY_DIR}/stores_smoke.json)
set_tests_properties(memo_stores_smoke PROPERTIES LABELS bench TIMEOUT 300)

# A benchmark whose run fails ends there: its remaining repetitions are skipped with a
# message, never a crash (Google Benchmark 1.7.1 crashes computing the aggregates when the
# first repetition failed and two later ones passed; bench_main.h says more).
# $MEMO_BENCH_FAIL_RUNS=1 fails the first run on purpose.
memo_expect_output(memo_bench_failed_first_repetition 0
                   "ERROR OCCURRED: 'failed on purpose"
                   "ERROR OCCURRED: 'skipped: an earlier repetition of this benchmark failed"
                   -- $<TARGET_FILE:memo_stores> --keys=1k --threads=2 --engines=mutex_map
                   --workloads=read_heavy_zipf --benchmark_repetitions=3 --benchmark_min_time=0.01)
set_tests_properties(memo_bench_failed_first_repetition PROPERTIES ENVIRONMENT MEMO_BENCH_FAIL_RUNS=1)
