# Generates version.cc with the project version and the git revision at
# every build (not only at configure time), rewriting it only on change.
set(RNNSEARCH_VERSION_CC ${CMAKE_CURRENT_BINARY_DIR}/generated/version.cc)
add_custom_target(rnnsearch_version_file
  COMMAND ${CMAKE_COMMAND}
          -DSRC=${CMAKE_CURRENT_SOURCE_DIR}
          -DOUT=${RNNSEARCH_VERSION_CC}
          -DVERSION=${PROJECT_VERSION}
          -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/WriteVersion.cmake
  BYPRODUCTS ${RNNSEARCH_VERSION_CC}
  COMMENT "rnnsearch: recording the git revision")
