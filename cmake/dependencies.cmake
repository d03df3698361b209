# Every dependency comes from a Debian package (scripts/setup installs them).
#
# The library needs cereal (its public headers serialize with it), xxHash and threads.
# Engines that need a further library are optional: each has a MEMO_WITH_<LIB> option,
# ON by default when the library is found, and MEMO_HAVE_<LIB> (0 or 1) tells the build
# and memo's compile definitions whether it is in. memoConfig.cmake.in finds the same
# libraries for an installed memo; a new dependency goes in both places.
include(${CMAKE_CURRENT_LIST_DIR}/memoImportLibrary.cmake)

find_package(Threads REQUIRED)
find_package(cereal REQUIRED)
memo_import_library(TARGET memo_dep::xxhash LIBRARY xxhash LIBRARY_VAR XXHASH_LIBRARY
                    HEADER xxhash.h HEADER_VAR XXHASH_INCLUDE_DIR REQUIRED)

# memo_optional_engine(<LIB> <engine> <package> <target>): the option MEMO_WITH_<LIB>, ON by
# default when the library's <target> was found, and MEMO_HAVE_<LIB>: 1 when the engine
# is built, else 0.
function(memo_optional_engine lib engine package target)
  set(found OFF)
  if(TARGET ${target})
    set(found ON)
  endif()
  option(MEMO_WITH_${lib} "Build the ${engine} engine (needs ${package})" ${found})
  if(MEMO_WITH_${lib} AND NOT found)
    message(FATAL_ERROR "memo: MEMO_WITH_${lib} is ON but ${package} was not found; install "
                        "it or configure with -DMEMO_WITH_${lib}=OFF")
  endif()
  if(MEMO_WITH_${lib})
    set(MEMO_HAVE_${lib} 1 PARENT_SCOPE)
  else()
    set(MEMO_HAVE_${lib} 0 PARENT_SCOPE)
  endif()
  message(STATUS "memo: ${engine} engine ${MEMO_WITH_${lib}} (MEMO_WITH_${lib})")
endfunction()

# tbb_map: oneTBB's concurrent_hash_map.
find_package(TBB QUIET)
memo_optional_engine(TBB tbb_map libtbb-dev TBB::tbb)

# cds_map: libcds's FeldmanHashSet (found directly; see memoImportLibrary.cmake).
memo_import_library(TARGET memo_dep::cds LIBRARY cds LIBRARY_VAR CDS_LIBRARY
                    HEADER cds/version.h HEADER_VAR CDS_INCLUDE_DIR LINK Threads::Threads)
memo_optional_engine(CDS cds_map libcds-dev memo_dep::cds)

# redis: a store shared across processes and machines, through hiredis (libhiredis-dev
# 0.14, found directly: it ships a pkg-config file but no CMake package). hiredis 0.14
# has no cluster support; memo routes cluster commands itself (core/src/redis/router.h).
# MEMO_HAVE_HIREDIS is set here, beside the library it describes.
memo_import_library(TARGET memo_dep::hiredis LIBRARY hiredis LIBRARY_VAR HIREDIS_LIBRARY
                    HEADER hiredis/hiredis.h HEADER_VAR HIREDIS_INCLUDE_DIR)
memo_optional_engine(HIREDIS redis libhiredis-dev memo_dep::hiredis)

if(MEMO_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
endif()
if(MEMO_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()

