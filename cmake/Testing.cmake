# Test registration helpers.
#
#   rnnsearch_add_test(NAME n SOURCES a.cc ... LIBS lib ... [MPI_RANKS 2 3]
#                      [TIMEOUT s] [LABELS l ...])
#
# Builds one GoogleTest executable. Without MPI_RANKS it links gtest_main
# and runs as one process. With MPI_RANKS it links the MPI-aware main
# (tests/mpi_gtest_main.cc) and is registered once as a plain process
# (the single-process stand-in) and once per count under mpiexec -n N, so
# code that assumes an even or a fixed number of ranks is caught.

set(RNNSEARCH_MPIEXEC_FLAGS --oversubscribe --allow-run-as-root --bind-to none
    CACHE STRING "Flags for mpiexec in the test suite")

function(rnnsearch_add_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;MPI_RANKS;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS})
  if(T_MPI_RANKS)
    target_link_libraries(${T_NAME} PRIVATE rnnsearch_mpi_gtest_main)
  else()
    target_link_libraries(${T_NAME} PRIVATE GTest::gtest_main)
  endif()
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}")
  foreach(n IN LISTS T_MPI_RANKS)
    add_test(NAME ${T_NAME}.np${n}
             COMMAND ${RNNSEARCH_MPIEXEC} -n ${n} ${RNNSEARCH_MPIEXEC_FLAGS}
                     $<TARGET_FILE:${T_NAME}>)
    set_tests_properties(${T_NAME}.np${n} PROPERTIES
      TIMEOUT ${T_TIMEOUT} LABELS "mpi;${T_LABELS}" PROCESSORS ${n})
  endforeach()
endfunction()
