# Included right after project(hemi) when configuring the fuzz build (scripts/fuzz): adds the
# fuzz targets at the end of the top-level directory, when every layer target exists.
# (EVAL so that the path is fixed now; a deferred call expands its arguments when it runs.)
cmake_language(EVAL CODE
  "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]] CALL include [[${CMAKE_CURRENT_LIST_DIR}/targets.cmake]])")
