# The redis store's tests: tests/redis_*.cpp are compiled into memo_tests (they compile
# to nothing without hiredis); here they get hiredis, the path of the repository (for
# scripts/redis-servers) and the worker process the multi-process tests start.
# The servers come from MEMO_TEST_REDIS_URL / MEMO_TEST_REDIS_CLUSTER_URL (scripts/test
# starts them) -- see tests/support/redis_testing.h.
if(MEMO_HAVE_HIREDIS)
  add_executable(memo_redis_worker ${CMAKE_CURRENT_SOURCE_DIR}/redis/worker.cpp)
  target_include_directories(memo_redis_worker PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_compile_definitions(memo_redis_worker PRIVATE MEMO_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  target_link_libraries(memo_redis_worker PRIVATE memo memo_dep::hiredis)
  add_dependencies(memo_tests memo_redis_worker)
  target_link_libraries(memo_tests PRIVATE memo_dep::hiredis)
  target_compile_definitions(memo_tests PRIVATE MEMO_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                             MEMO_REDIS_WORKER="$<TARGET_FILE:memo_redis_worker>")
endif()
