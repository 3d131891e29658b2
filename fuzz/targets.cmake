# The fuzz targets, added to the main project by scripts/fuzz through
#   -DCMAKE_PROJECT_INCLUDE=fuzz/project_hook.cmake
# once every layer target exists. The libraries are compiled with
# -fsanitize=fuzzer-no-link,address,undefined; the targets link libFuzzer's main.
set(HEMI_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})
foreach(target keys ciphertexts plans models requests model_info results)
  add_executable(hemi_fuzz_${target} ${HEMI_FUZZ_DIR}/fuzz_${target}.cpp)
  target_include_directories(hemi_fuzz_${target} PRIVATE ${HEMI_FUZZ_DIR} ${PROJECT_SOURCE_DIR}/tests/he)
  target_link_libraries(hemi_fuzz_${target} PRIVATE hemi_service)
  target_link_options(hemi_fuzz_${target} PRIVATE -fsanitize=fuzzer)
endforeach()
add_executable(hemi_fuzz_corpus ${HEMI_FUZZ_DIR}/make_corpus.cpp)
target_include_directories(hemi_fuzz_corpus PRIVATE ${HEMI_FUZZ_DIR} ${PROJECT_SOURCE_DIR}/tests/he)
target_link_libraries(hemi_fuzz_corpus PRIVATE hemi_service)
