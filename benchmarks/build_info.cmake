# What every benchmark JSON records about its build (memo_bench::kGitCommit, kCompiler,
# kCompileFlags; bench_main.cpp adds them to Google Benchmark's context). The commit is
# read at build time, not configure time, so a rebuild after a commit records the new
# one; the file is rewritten only when its text changes, so nothing else rebuilds.
get_directory_property(MEMO_BENCH_COMPILE_OPTIONS COMPILE_OPTIONS)
string(TOUPPER "${CMAKE_BUILD_TYPE}" MEMO_BENCH_BUILD_TYPE)
# memo requires C++20 (cxx_std_20 on memo::memo), so every benchmark compiles with it.
string(JOIN " " MEMO_BENCH_FLAGS ${CMAKE_CXX_FLAGS} ${CMAKE_CXX_FLAGS_${MEMO_BENCH_BUILD_TYPE}}
       ${MEMO_BENCH_COMPILE_OPTIONS} ${CMAKE_CXX20_STANDARD_COMPILE_OPTION})
string(STRIP "${MEMO_BENCH_FLAGS}" MEMO_BENCH_FLAGS)
set(MEMO_BUILD_INFO_CPP ${CMAKE_CURRENT_BINARY_DIR}/memo_build_info.cpp)
add_custom_target(memo_build_info
  COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DOUT=${MEMO_BUILD_INFO_CPP}
          "-DCOMPILER=${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}"
          "-DFLAGS=${MEMO_BENCH_FLAGS}" "-DBUILD_TYPE=${CMAKE_BUILD_TYPE}"
          -P ${CMAKE_CURRENT_LIST_DIR}/common/write_build_info.cmake
  BYPRODUCTS ${MEMO_BUILD_INFO_CPP}
  COMMENT "Recording the commit, compiler and flags for the benchmark JSON"
  VERBATIM)
target_sources(memo_bench_main PRIVATE ${MEMO_BUILD_INFO_CPP})
add_dependencies(memo_bench_main memo_build_info)
