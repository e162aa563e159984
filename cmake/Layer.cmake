# rnnsearch_layer(NAME lib DIR dir LIBS deps...): a static library of every
# .cc file directly in `dir` (so a new source file needs no CMake edit),
# with the repository root on the include path. An empty layer is an
# INTERFACE library that only forwards its dependencies.
function(rnnsearch_layer)
  cmake_parse_arguments(L "" "NAME;DIR" "LIBS;EXCLUDE" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${L_DIR}/*.cc)
  foreach(x IN LISTS L_EXCLUDE)
    list(REMOVE_ITEM sources ${L_DIR}/${x})
  endforeach()
  if(sources)
    add_library(${L_NAME} STATIC ${sources})
    target_include_directories(${L_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${L_NAME} PUBLIC ${L_LIBS})
  else()
    add_library(${L_NAME} INTERFACE)
    target_include_directories(${L_NAME} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${L_NAME} INTERFACE ${L_LIBS})
  endif()
endfunction()

# rnnsearch_layer_tests(DIR dir PREFIX p LIBS ...): one test executable per
# dir/*_test.cc (single process); MPI tests are registered by hand with
# rnnsearch_add_test(... MPI_RANKS ...) and named *_mpi_test.cc.
function(rnnsearch_layer_tests)
  cmake_parse_arguments(L "" "DIR;PREFIX" "LIBS" ${ARGN})
  file(GLOB tests CONFIGURE_DEPENDS ${L_DIR}/*_test.cc)
  foreach(src IN LISTS tests)
    get_filename_component(name ${src} NAME_WE)
    if(name MATCHES "_mpi_test$")
      continue()
    endif()
    rnnsearch_add_test(NAME ${L_PREFIX}_${name} SOURCES ${src} LIBS ${L_LIBS} GTest::gtest
                       LABELS ${L_PREFIX})
    target_compile_definitions(${L_PREFIX}_${name} PRIVATE
      RNNSEARCH_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  endforeach()
endfunction()
