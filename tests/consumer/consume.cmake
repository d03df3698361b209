# Builds and runs tests/consumer/main.cpp one way; tests/consumer.cmake calls it.
#   cmake -DMODE=<mode> -DWORK_DIR=<dir> [options] -P consume.cmake
# Modes:
#   install           cmake --install BUILD_DIR into PREFIX (fresh), then check the files
#   find_package      a CMake project with find_package(memo CONFIG) against PREFIX
#   pkg_config        the compiler alone, with `pkg-config --cflags --libs memo` from PREFIX
#   add_subdirectory  a CMake project with add_subdirectory(SOURCE_DIR), no build type;
#                     with WITHOUT_OPTIONAL=ON, TBB is hidden from find_package, libcds
#                     and hiredis switched off, and the program must need none of them
# Other options: SOURCE_DIR (memo's sources), BUILD_DIR (memo's build), PREFIX,
# CXX (compiler), GENERATOR.
cmake_minimum_required(VERSION 3.21)

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "consumer (${MODE}): ${what} failed (${status}):\n${out}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

function(run_consumer program)
  run_step("running the consumer" ${program})
  if(NOT step_output MATCHES "memo consumer: ok")
    message(FATAL_ERROR "consumer (${MODE}): unexpected output:\n${step_output}")
  endif()
  message(STATUS "consumer (${MODE}): ${step_output}")
endfunction()

if(MODE STREQUAL "install")
  file(REMOVE_RECURSE ${PREFIX})
  run_step("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})
  foreach(pattern lib*/libmemo.a include/memo/memo.h lib*/cmake/memo/memoConfig.cmake
                  lib*/cmake/memo/memoConfigVersion.cmake lib*/cmake/memo/memoTargets.cmake
                  lib*/pkgconfig/memo.pc)
    file(GLOB_RECURSE found ${PREFIX}/${pattern})
    if(NOT found)
      message(FATAL_ERROR "consumer (install): nothing matching ${pattern} under ${PREFIX}")
    endif()
  endforeach()
  return()
endif()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(consumer_dir ${SOURCE_DIR}/tests/consumer)

if(MODE STREQUAL "pkg_config")
  find_program(PKG_CONFIG NAMES pkg-config pkgconf REQUIRED)
  file(GLOB_RECURSE pc_file ${PREFIX}/memo.pc)
  if(NOT pc_file)
    message(FATAL_ERROR "consumer (pkg_config): no memo.pc under ${PREFIX}")
  endif()
  get_filename_component(pc_dir "${pc_file}" DIRECTORY)
  set(ENV{PKG_CONFIG_PATH} ${pc_dir})
  run_step("pkg-config --cflags memo" ${PKG_CONFIG} --cflags memo)
  separate_arguments(cflags UNIX_COMMAND "${step_output}")
  run_step("pkg-config --libs memo" ${PKG_CONFIG} --libs memo)
  separate_arguments(libs UNIX_COMMAND "${step_output}")
  run_step("compiling with the pkg-config flags"
           ${CXX} -std=c++20 ${cflags} ${consumer_dir}/main.cpp -o ${WORK_DIR}/consumer ${libs})
  run_consumer(${WORK_DIR}/consumer)
  return()
endif()

set(configure ${CMAKE_COMMAND} -S ${consumer_dir} -B ${WORK_DIR} -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX} -DMEMO_CONSUMER_MODE=${MODE} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
if(MODE STREQUAL "find_package")
  list(APPEND configure -DCMAKE_PREFIX_PATH=${PREFIX})
elseif(MODE STREQUAL "add_subdirectory")
  list(APPEND configure -DMEMO_SOURCE_DIR=${SOURCE_DIR})
  if(WITHOUT_OPTIONAL)
    # TBB as if not installed (MEMO_WITH_TBB then defaults to OFF); the others by option.
    list(APPEND configure -DCMAKE_DISABLE_FIND_PACKAGE_TBB=ON -DMEMO_WITH_CDS=OFF
         -DMEMO_WITH_HIREDIS=OFF)
  endif()
else()
  message(FATAL_ERROR "consume.cmake: unknown MODE '${MODE}'")
endif()
run_step("configuring" ${configure})
run_step("building" ${CMAKE_COMMAND} --build ${WORK_DIR} -j 2)
run_consumer(${WORK_DIR}/consumer)

if(WITHOUT_OPTIONAL)
  find_program(OBJDUMP objdump REQUIRED)
  run_step("objdump -p" ${OBJDUMP} -p ${WORK_DIR}/consumer)
  foreach(library tbb cds hiredis)
    if(step_output MATCHES "NEEDED +lib${library}[.]")
      message(FATAL_ERROR "consumer (${MODE}): the program needs lib${library}, which it "
                          "must not:\n${step_output}")
    endif()
  endforeach()
endif()
