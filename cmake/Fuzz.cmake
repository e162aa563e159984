# The fuzz build (-DRNNSEARCH_FUZZ=ON, scripts/fuzz.sh): clang's libFuzzer
# with AddressSanitizer and UndefinedBehaviorSanitizer over everything built
# (common/, io/ and tests/fuzz/), any sanitizer report fatal.
#
#   rnnsearch_fuzzer(NAME n SOURCES a.cc ... LIBS lib ...)
#
# builds one libFuzzer executable (it brings its own main()).
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR
    "rnnsearch: RNNSEARCH_FUZZ needs clang's libFuzzer; configure with\n"
    "    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++\n"
    "(Debian 12: sudo apt-get install clang libclang-rt-14-dev, or run scripts/install-deps.sh)")
endif()

set(RNNSEARCH_SANITIZE -fsanitize=address,undefined -fno-sanitize-recover=all)
add_compile_options(${RNNSEARCH_SANITIZE} -fsanitize=fuzzer-no-link -fno-omit-frame-pointer -g)
add_link_options(${RNNSEARCH_SANITIZE})

function(rnnsearch_fuzzer)
  cmake_parse_arguments(F "" "NAME" "SOURCES;LIBS" ${ARGN})
  add_executable(${F_NAME} ${F_SOURCES})
  target_link_libraries(${F_NAME} PRIVATE ${F_LIBS})
  target_link_options(${F_NAME} PRIVATE -fsanitize=fuzzer)
endfunction()
