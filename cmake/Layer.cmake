# rnnsearch_layer(NAME lib DIR dir LIBS deps...): a static library of every
# .cc file directly in `dir` (so a new source file needs no CMake edit),
# with the repository root on the include path. An empty layer is an
# INTERFACE library that only forwards its dependencies.
#
# LIBS is also the layer's declared place in the graph: the files of `dir`
# may #include only headers of `dir` itself and of the rnnsearch layers in
# LIBS. Every layer is recorded in the global property RNNSEARCH_LAYERS
# ("name|dir|lib,lib,..."), which rnnsearch_write_layer_graph writes out
# for the test that checks the #includes (cmake/CheckLayers.cmake).
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
  file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${L_DIR})
  set(deps "")
  foreach(lib IN LISTS L_LIBS)
    if(lib MATCHES "^rnnsearch_" OR lib STREQUAL "MPI::MPI_CXX")
      list(APPEND deps ${lib})
    endif()
  endforeach()
  list(JOIN deps "," deps)
  set_property(GLOBAL APPEND PROPERTY RNNSEARCH_LAYERS "${L_NAME}|${rel}|${deps}")
endfunction()

# Writes the recorded layers to FILE, one "dir: dir dir ..." line per layer
# (the directories of the layers it may include; "<mpi.h>" when it links
# MPI), for cmake/CheckLayers.cmake.
function(rnnsearch_write_layer_graph file)
  get_property(layers GLOBAL PROPERTY RNNSEARCH_LAYERS)
  foreach(entry IN LISTS layers)
    string(REPLACE "|" ";" parts "${entry}")
    list(GET parts 0 name)
    list(GET parts 1 dir)
    set(dir_of_${name} ${dir})
  endforeach()
  set(text "")
  foreach(entry IN LISTS layers)
    string(REPLACE "|" ";" parts "${entry}")
    list(GET parts 1 dir)
    list(LENGTH parts n)
    set(dep_dirs "")
    if(n GREATER 2)
      list(GET parts 2 deps)
      string(REPLACE "," ";" deps "${deps}")
      foreach(dep IN LISTS deps)
        if(dep STREQUAL "MPI::MPI_CXX")
          list(APPEND dep_dirs "<mpi.h>")
          continue()
        endif()
        if(NOT DEFINED dir_of_${dep})
          message(FATAL_ERROR "rnnsearch: layer ${dir} depends on ${dep}, which is not a layer "
                              "(declare it with rnnsearch_layer before ${dir})")
        endif()
        list(APPEND dep_dirs ${dir_of_${dep}})
      endforeach()
    endif()
    list(JOIN dep_dirs " " dep_dirs)
    string(APPEND text "${dir}: ${dep_dirs}\n")
  endforeach()
  file(WRITE ${file} "${text}")
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
