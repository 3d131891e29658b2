# hemi_add_test(NAME SOURCES... LIBS ...): one GoogleTest executable registered with CTest.
# Tests find the shared data through HEMI_SHARED_DATA (../shared/data beside the repo).
function(hemi_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)  # tests/support/*.h
  target_compile_definitions(${name} PRIVATE
    HEMI_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
    PROPERTIES ENVIRONMENT "HEMI_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
