# Every public header on its own, and every test, example and benchmark source, through Clang with
# the project's warning flags. Compiled to an object (discarded), not only parsed: some errors, such
# as passing __m512 where AVX-512F is not enabled, come from code generation. The GCC build links
# and runs them.
#   cmake -DCLANG=clang++-14 -DSOURCE_DIR=... -DINCLUDES="a|b" -P clang_check.cmake
set(flags -std=c++17 -c -o /dev/null -Wall -Wextra -Wpedantic -Werror -I${SOURCE_DIR}/include
    -DWASTENET_TEST_DATA="x" -DWASTENET_SHARED_DIR="x" -DWASTENET_SOURCE_DIR="x" -DWASTENET_CLASSIFY="x"
    -DWASTENET_DEFAULT_MODEL="x" -DWASTENET_STREAM="x" -DWASTENET_ROBUSTNESS="x"
    -DWASTENET_AUGMENT_PREVIEW="x" -DWASTENET_PACK="x")
string(REPLACE "|" ";" include_dirs "${INCLUDES}")  # "|"-separated: a list does not survive -D
foreach(dir ${include_dirs})
  list(APPEND flags -isystem ${dir})  # third-party headers: their warnings are not ours
endforeach()
file(GLOB_RECURSE headers RELATIVE ${SOURCE_DIR}/include ${SOURCE_DIR}/include/wastenet/*.hpp)
file(GLOB sources ${SOURCE_DIR}/tests/*.cpp ${SOURCE_DIR}/examples/*.cpp ${SOURCE_DIR}/benchmarks/*.cpp)
set(failed 0)
foreach(h ${headers})
  file(WRITE ${WORK_DIR}/one_header.cpp "#include <${h}>\n")
  execute_process(COMMAND ${CLANG} ${flags} ${WORK_DIR}/one_header.cpp RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message("${h}:\n${out}")
    math(EXPR failed "${failed} + 1")
  endif()
endforeach()
foreach(s ${sources})
  execute_process(COMMAND ${CLANG} ${flags} ${s} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message("${s}:\n${out}")
    math(EXPR failed "${failed} + 1")
  endif()
endforeach()
if(failed GREATER 0)
  message(FATAL_ERROR "${failed} file(s) are not Clang-clean")
endif()
list(LENGTH headers nh)
list(LENGTH sources ns)
message("${nh} headers and ${ns} sources are Clang-clean")
