# Every dependency comes from a Debian package (scripts/setup installs them).

find_path(XXHASH_INCLUDE_DIR xxhash.h REQUIRED)
find_library(XXHASH_LIBRARY xxhash REQUIRED)
add_library(memo_xxhash INTERFACE)
target_include_directories(memo_xxhash INTERFACE ${XXHASH_INCLUDE_DIR})
target_link_libraries(memo_xxhash INTERFACE ${XXHASH_LIBRARY})

find_package(cereal REQUIRED)
find_package(TBB REQUIRED)

# Debian's LibCDSConfig.cmake points at a library path that does not exist, so
# find_package(LibCDS) fails; find the library and headers directly.
find_library(CDS_LIBRARY cds REQUIRED)
find_path(CDS_INCLUDE_DIR cds/version.h REQUIRED)
add_library(memo_cds INTERFACE)
target_include_directories(memo_cds INTERFACE ${CDS_INCLUDE_DIR})
target_link_libraries(memo_cds INTERFACE ${CDS_LIBRARY} Threads::Threads)

if(MEMO_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
endif()
if(MEMO_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()
