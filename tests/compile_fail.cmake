# Compile-time errors are part of the API: an unhashable argument and an unserializable
# cache_data result must fail to compile with memo's message; the same files with the
# documented fix (-DMEMO_FIX) must compile.
set(MEMO_SYNTAX_CHECK ${CMAKE_CXX_COMPILER} -std=c++20 -fsyntax-only -I${PROJECT_SOURCE_DIR}/core/include
    -I${XXHASH_INCLUDE_DIR})

function(memo_compile_fail_test name file message)
  add_test(NAME compile_fail_${name}
           COMMAND ${MEMO_SYNTAX_CHECK} ${CMAKE_CURRENT_SOURCE_DIR}/compile_fail/${file})
  set_tests_properties(compile_fail_${name} PROPERTIES LABELS unit
                       PASS_REGULAR_EXPRESSION "${message}")
  add_test(NAME compile_fixed_${name}
           COMMAND ${MEMO_SYNTAX_CHECK} -DMEMO_FIX ${CMAKE_CURRENT_SOURCE_DIR}/compile_fail/${file})
  set_tests_properties(compile_fixed_${name} PROPERTIES LABELS unit)
endfunction()

memo_compile_fail_test(unhashable_argument unhashable_argument.cpp
                       "memo: this argument type has no hash")
memo_compile_fail_test(unserializable_result unserializable_result.cpp
                       "memo::cache_data needs a serializable return type")
