# memo as other projects use it (tests/consumer/): a small program built against an
# installed memo with find_package and with pkg-config, and against memo's sources with
# add_subdirectory (there without TBB, libcds and hiredis, which a mutex_map user must not
# need).
# Release builds only: the sanitizer flavours would repeat the same CMake logic.
if(MEMO_INSTALL AND CMAKE_BUILD_TYPE STREQUAL "Release" AND NOT MEMO_SANITIZE)
  set(memo_consumer_work ${CMAKE_CURRENT_BINARY_DIR}/consumer)
  set(memo_consumer_run ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
      -DBUILD_DIR=${PROJECT_BINARY_DIR} -DPREFIX=${memo_consumer_work}/prefix
      -DCXX=${CMAKE_CXX_COMPILER} -DGENERATOR=${CMAKE_GENERATOR})
  set(memo_consumer_script ${CMAKE_CURRENT_SOURCE_DIR}/consumer/consume.cmake)

  add_test(NAME consumer_install
           COMMAND ${memo_consumer_run} -DMODE=install -P ${memo_consumer_script})
  set_tests_properties(consumer_install PROPERTIES FIXTURES_SETUP memo_installed)
  foreach(mode find_package pkg_config)
    add_test(NAME consumer_${mode}
             COMMAND ${memo_consumer_run} -DMODE=${mode} -DWORK_DIR=${memo_consumer_work}/${mode}
                     -P ${memo_consumer_script})
    set_tests_properties(consumer_${mode} PROPERTIES FIXTURES_REQUIRED memo_installed)
  endforeach()
  add_test(NAME consumer_add_subdirectory
           COMMAND ${memo_consumer_run} -DMODE=add_subdirectory -DWITHOUT_OPTIONAL=ON
                   -DWORK_DIR=${memo_consumer_work}/add_subdirectory -P ${memo_consumer_script})
  set_tests_properties(consumer_install consumer_find_package consumer_pkg_config
                       consumer_add_subdirectory PROPERTIES LABELS consumer TIMEOUT 900)
endif()

# The README's first C++ example, exactly as printed, must compile and run (every flavour).
file(READ ${PROJECT_SOURCE_DIR}/README.md memo_readme)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/README.md)
string(FIND "${memo_readme}" "```cpp\n" memo_example_start)
if(memo_example_start EQUAL -1)
  message(FATAL_ERROR "README.md has no ```cpp example for the readme_example test")
endif()
math(EXPR memo_example_start "${memo_example_start} + 7")
string(SUBSTRING "${memo_readme}" ${memo_example_start} -1 memo_example)
string(FIND "${memo_example}" "\n```" memo_example_end)
string(SUBSTRING "${memo_example}" 0 ${memo_example_end} memo_example)
# The sentence after the block says what the program prints: "It prints `...`".
string(SUBSTRING "${memo_readme}" ${memo_example_start} -1 memo_after_example)
string(REGEX MATCH "It prints `([^`]+)`" memo_example_prints "${memo_after_example}")
if(NOT memo_example_prints)
  message(FATAL_ERROR "README.md: no \"It prints `...`\" after the first ```cpp example")
endif()
set(memo_example_output "${CMAKE_MATCH_1}")
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/readme_example.cpp.new "${memo_example}\n")
configure_file(${CMAKE_CURRENT_BINARY_DIR}/readme_example.cpp.new
               ${CMAKE_CURRENT_BINARY_DIR}/readme_example.cpp COPYONLY)
# Built by the test, not by the build: a broken README fails one test, not scripts/run.
add_executable(memo_readme_example EXCLUDE_FROM_ALL ${CMAKE_CURRENT_BINARY_DIR}/readme_example.cpp)
target_link_libraries(memo_readme_example PRIVATE memo::memo)
add_test(NAME readme_example
         COMMAND sh -c [[
"$0" --build "$1" --target memo_readme_example || exit 1
printed=$("$2") || { echo "the example failed (exit status $?): $printed"; exit 1; }
echo "$printed"
case "$printed" in *"$3"*) ;; *) echo "README.md says it prints: $3"; exit 1 ;; esac
]] ${CMAKE_COMMAND} ${PROJECT_BINARY_DIR} $<TARGET_FILE:memo_readme_example>
                 "${memo_example_output}")
set_tests_properties(readme_example PROPERTIES LABELS unit TIMEOUT 900 ${MEMO_TEST_PROPERTIES})
