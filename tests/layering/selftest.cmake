# cmake -DCHECKER=CheckLayers.cmake -DWORK=dir -P selftest.cmake
#
# The layering check must fail on an include outside the declared graph
# and name the file and the header, and pass once the edge is declared.
# A tree of three layers: c <- b <- a (a may include b, b may include c).
cmake_minimum_required(VERSION 3.25)
file(REMOVE_RECURSE ${WORK})
file(WRITE ${WORK}/src/a/a.h "#include \"b/b.h\"\n")
file(WRITE ${WORK}/src/b/b.h "#include \"c/c.h\"\n")
file(WRITE ${WORK}/src/c/c.h "#include <vector>\n")
file(WRITE ${WORK}/src/tests/b/b_test.cc "#include \"b/b.h\"\n#include \"tests/util.h\"\n")
file(WRITE ${WORK}/src/tests/util.h "\n")

function(run_check graph expect_ok expect_text)
  file(WRITE ${WORK}/graph.txt "${graph}")
  execute_process(COMMAND ${CMAKE_COMMAND} -DGRAPH=${WORK}/graph.txt -DROOT=${WORK}/src
                          -P ${CHECKER}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(expect_ok AND NOT rc EQUAL 0)
    message(FATAL_ERROR "the check failed on a tree within its graph:\n${out}${err}")
  endif()
  if(NOT expect_ok AND rc EQUAL 0)
    message(FATAL_ERROR "the check passed a tree with an edge outside its graph:\n${out}${err}")
  endif()
  if(NOT "${out}${err}" MATCHES "${expect_text}")
    message(FATAL_ERROR "the check's output does not say '${expect_text}':\n${out}${err}")
  endif()
endfunction()

run_check("a: b\nb: c\nc: \n" TRUE "5 files checked")
# b no longer declares c.
run_check("a: b\nb: \nc: \n" FALSE "b/b.h: includes \"c/c.h\"")
# a reaches c only through b: a direct include of c is an undeclared edge.
file(APPEND ${WORK}/src/a/a.h "#include \"c/c.h\"\n")
run_check("a: b\nb: c\nc: \n" FALSE "a/a.h: includes \"c/c.h\"")
# A test may use what its layer reaches, not more: tests/b including a.
file(WRITE ${WORK}/src/a/a.h "#include \"b/b.h\"\n")
file(APPEND ${WORK}/src/tests/b/b_test.cc "#include \"a/a.h\"\n")
run_check("a: b\nb: c\nc: \n" FALSE "tests/b/b_test.cc: includes \"a/a.h\"")
# <mpi.h> only in a layer that declares MPI.
file(WRITE ${WORK}/src/tests/b/b_test.cc "#include \"b/b.h\"\n")
file(WRITE ${WORK}/src/c/c.h "#include <mpi.h>\n")
run_check("a: b\nb: c\nc: \n" FALSE "c/c.h: includes <mpi.h>")
run_check("a: b\nb: c\nc: <mpi.h>\n" TRUE "every include within the graph")
# A folder that is no layer.
file(WRITE ${WORK}/src/a/d/d.h "\n")
run_check("a: b\nb: c\nc: <mpi.h>\n" FALSE "a/d/d.h: the folder 'a/d' is no layer")
file(REMOVE_RECURSE ${WORK})
message(STATUS "layering self-test: passed")
