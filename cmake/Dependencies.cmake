# Finds every dependency and stops the configure step with the Debian
# package to install when one is missing (scripts/install-deps.sh installs
# them all).

function(rnnsearch_require found what package)
  if(NOT ${found})
    message(FATAL_ERROR
      "rnnsearch: ${what} was not found. On Debian 12 install it with\n"
      "    sudo apt-get install ${package}\n"
      "or run scripts/install-deps.sh, which installs every dependency.")
  endif()
endfunction()

# The fuzz build (RNNSEARCH_FUZZ) compiles only common/ and io/: no MPI,
# oneDNN, OpenMP or GoogleTest.
if(NOT RNNSEARCH_FUZZ)
find_package(MPI COMPONENTS CXX QUIET)
rnnsearch_require(MPI_CXX_FOUND "MPI (Open MPI)" "libopenmpi-dev openmpi-bin")

# Debian's oneDNN is built with an OpenCL GPU runtime, so its CMake package
# needs the OpenCL headers and loader even on machines without a GPU.
find_package(OpenCL QUIET)
rnnsearch_require(OpenCL_FOUND "OpenCL (needed by Debian's oneDNN CMake package)"
                  "ocl-icd-opencl-dev")
find_package(dnnl CONFIG QUIET)
rnnsearch_require(dnnl_FOUND "oneDNN (CMake package 'dnnl')" "libdnnl-dev")

find_package(OpenMP QUIET COMPONENTS CXX)
rnnsearch_require(OpenMP_CXX_FOUND "OpenMP for C++" "g++ (libgomp)")

# JSON lines: metrics.jsonl, the alignments file, the bench figures
# (trainer/run, trainer/decode, launch; header-only).
find_package(nlohmann_json 3.9 CONFIG QUIET)
rnnsearch_require(nlohmann_json_FOUND "nlohmann/json (CMake package 'nlohmann_json')"
                  "nlohmann-json3-dev")
endif()

find_package(HDF5 QUIET COMPONENTS C)
rnnsearch_require(HDF5_FOUND "HDF5 (C library)" "libhdf5-dev")
if(NOT TARGET rnnsearch::hdf5)
  add_library(rnnsearch::hdf5 INTERFACE IMPORTED)
  target_include_directories(rnnsearch::hdf5 SYSTEM INTERFACE ${HDF5_INCLUDE_DIRS})
  target_link_libraries(rnnsearch::hdf5 INTERFACE ${HDF5_LIBRARIES})
  target_compile_definitions(rnnsearch::hdf5 INTERFACE ${HDF5_DEFINITIONS})
endif()

find_package(yaml-cpp CONFIG QUIET)
rnnsearch_require(yaml-cpp_FOUND "yaml-cpp" "libyaml-cpp-dev")

find_package(Boost 1.74 QUIET COMPONENTS program_options)
rnnsearch_require(Boost_PROGRAM_OPTIONS_FOUND "Boost.Program_options"
                  "libboost-program-options-dev")

find_package(PkgConfig QUIET)
rnnsearch_require(PKG_CONFIG_FOUND "pkg-config" "pkg-config")
pkg_check_modules(SENTENCEPIECE QUIET IMPORTED_TARGET sentencepiece)
rnnsearch_require(SENTENCEPIECE_FOUND "SentencePiece" "libsentencepiece-dev")
add_library(rnnsearch::sentencepiece ALIAS PkgConfig::SENTENCEPIECE)

find_package(ZLIB QUIET)
rnnsearch_require(ZLIB_FOUND "zlib" "zlib1g-dev")

find_package(Threads REQUIRED)

if(RNNSEARCH_BUILD_TESTS AND NOT RNNSEARCH_FUZZ)
  find_package(GTest QUIET)
  rnnsearch_require(GTest_FOUND "GoogleTest" "libgtest-dev")
  find_program(RNNSEARCH_MPIEXEC NAMES mpiexec mpirun HINTS ${MPIEXEC_EXECUTABLE})
  rnnsearch_require(RNNSEARCH_MPIEXEC "mpiexec" "openmpi-bin")
endif()
