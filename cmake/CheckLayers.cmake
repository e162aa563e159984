# cmake -DGRAPH=file -DROOT=dir -P CheckLayers.cmake
#
# Fails (exit status 1) when a source file includes a header outside its
# layer's declared dependencies. GRAPH holds one line per layer,
#   dir: dep_dir dep_dir ... [<mpi.h>]
# as cmake/Layer.cmake's rnnsearch_write_layer_graph writes it from the
# LIBS of every rnnsearch_layer. The rules, for every .h and .cc file:
#   - a file of a layer (its folder is the layer's dir) may include headers
#     of its own dir and of the dirs it declares, nothing else of the
#     project, and <mpi.h> only when it declares MPI;
#   - a file under tests/P may include tests/ and any layer that a layer at
#     or below P reaches (tests/trainer/decode/ what trainer/decode reaches,
#     tests/trainer/ what any trainer/ layer reaches, tests/ everything; a
#     P that mirrors no layer, such as tests/fuzz, everything);
#   - a .h or .cc file in a folder below a layer's top folder (common/,
#     trainer/, ...) that is itself no layer is an error.
cmake_minimum_required(VERSION 3.25)
if(NOT GRAPH OR NOT ROOT)
  message(FATAL_ERROR "usage: cmake -DGRAPH=file -DROOT=dir -P CheckLayers.cmake")
endif()

file(STRINGS ${GRAPH} lines)
set(layers "")
foreach(line IN LISTS lines)
  string(REGEX MATCH "^([^:]+):(.*)$" _ "${line}")
  set(dir ${CMAKE_MATCH_1})
  string(STRIP "${CMAKE_MATCH_2}" deps)
  separate_arguments(deps UNIX_COMMAND "${deps}")
  list(APPEND layers ${dir})
  set(deps_of_${dir} ${deps})
endforeach()

# reach_of_<dir>: the layer itself and every layer it reaches.
foreach(dir IN LISTS layers)
  set(reach ${dir})
  set(todo ${deps_of_${dir}})
  while(todo)
    list(POP_FRONT todo d)
    if(d IN_LIST reach)
      continue()
    endif()
    list(APPEND reach ${d})
    if(DEFINED deps_of_${d})
      list(APPEND todo ${deps_of_${d}})
    endif()
  endwhile()
  set(reach_of_${dir} ${reach})
endforeach()

# The files: everything under the layers' top folders and tests/ (build
# trees inside the checkout are not read).
set(tops tests)
foreach(dir IN LISTS layers)
  string(REGEX REPLACE "/.*" "" top ${dir})
  list(APPEND tops ${top})
endforeach()
list(REMOVE_DUPLICATES tops)
set(files "")
foreach(top IN LISTS tops)
  file(GLOB_RECURSE found RELATIVE ${ROOT} ${ROOT}/${top}/*.h ${ROOT}/${top}/*.cc)
  list(APPEND files ${found})
endforeach()
list(SORT files)

set(errors "")
set(checked 0)
foreach(file IN LISTS files)
  get_filename_component(dir ${file} DIRECTORY)
  set(allowed "")
  set(is_test FALSE)
  if(dir MATCHES "^tests(/(.*))?$")
    set(is_test TRUE)
    set(below "${CMAKE_MATCH_2}")
    foreach(layer IN LISTS layers)
      if(below STREQUAL "" OR layer STREQUAL below OR layer MATCHES "^${below}/")
        list(APPEND allowed ${reach_of_${layer}})
      endif()
    endforeach()
    if(NOT allowed)
      set(allowed ${layers})
    endif()
    list(APPEND allowed "<mpi.h>")
  elseif(dir IN_LIST layers)
    set(allowed ${dir} ${deps_of_${dir}})
  else()
    list(APPEND errors "${file}: the folder '${dir}' is no layer (declare it with rnnsearch_layer)")
    continue()
  endif()
  math(EXPR checked "${checked} + 1")
  file(STRINGS ${ROOT}/${file} includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
  foreach(inc IN LISTS includes)
    if(inc MATCHES "#[ \t]*include[ \t]*\"([^\"]+)\"")
      set(path ${CMAKE_MATCH_1})
      get_filename_component(inc_dir ${path} DIRECTORY)
      if(is_test AND inc_dir MATCHES "^tests(/|$)")
        continue()
      endif()
      if(NOT inc_dir IN_LIST allowed)
        list(APPEND errors "${file}: includes \"${path}\", outside the layers it may use (${allowed})")
      endif()
    elseif(inc MATCHES "#[ \t]*include[ \t]*<mpi\\.h>")
      if(NOT "<mpi.h>" IN_LIST allowed)
        list(APPEND errors "${file}: includes <mpi.h>, but its layer does not declare MPI")
      endif()
    endif()
  endforeach()
endforeach()

if(errors)
  list(LENGTH errors n)
  list(JOIN errors "\n  " text)
  message(FATAL_ERROR "layering: ${n} include(s) outside the declared graph (${GRAPH}):\n  ${text}")
endif()
message(STATUS "layering: ${checked} files checked against ${GRAPH}: every include within the graph")
