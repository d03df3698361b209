# Decoders against hostile bytes. fuzz_replay (any compiler) replays the corpus in
# CTest; with clang and MEMO_FUZZ=ON, memo_fuzz is a real libFuzzer binary (scripts/fuzz).
option(MEMO_FUZZ "Build the libFuzzer target (needs clang)" OFF)

add_executable(fuzz_replay fuzz/fuzz_replay.cpp fuzz/fuzz_decoders.cpp)
target_link_libraries(fuzz_replay PRIVATE memo)
# The corpus (fuzz_replay --make-seeds DIR writes it) holds 4 valid inputs, one per
# decoder, and damaged cache files (foreign fingerprint, impossible sizes) that must be
# refused: the replay passes only when exactly the valid ones decode.
file(GLOB MEMO_FUZZ_CORPUS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/*)
add_test(NAME fuzz_corpus_replay COMMAND fuzz_replay ${MEMO_FUZZ_CORPUS})
set_tests_properties(fuzz_corpus_replay PROPERTIES LABELS unit
                     PASS_REGULAR_EXPRESSION "inputs handled, 4 decoded whole")

if(MEMO_FUZZ)
  add_executable(memo_fuzz fuzz/fuzz_decoders.cpp)
  target_compile_options(memo_fuzz PRIVATE -fsanitize=fuzzer)
  target_link_options(memo_fuzz PRIVATE -fsanitize=fuzzer)
  target_link_libraries(memo_fuzz PRIVATE memo)
endif()
