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

# clang does not honour `#pragma GCC target` (src/hemi/math/*_avx2.cpp, *_ifma.cpp): in this
# clang build those kernel files get their ISA flags on the command line instead. The fuzz
# build runs only on the machine that builds it, so it needs AVX2/FMA (and AVX-512 IFMA) there.
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang" AND CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  get_target_property(hemi_math_dir hemi_math SOURCE_DIR)
  get_target_property(hemi_math_sources hemi_math SOURCES)
  foreach(src IN LISTS hemi_math_sources)
    if(src MATCHES "_avx2\\.cpp$")
      set_source_files_properties(${hemi_math_dir}/${src} DIRECTORY ${hemi_math_dir}
        PROPERTIES COMPILE_OPTIONS "-O3;-mavx2;-mbmi2;-mfma")
    elseif(src MATCHES "_ifma\\.cpp$")
      set_source_files_properties(${hemi_math_dir}/${src} DIRECTORY ${hemi_math_dir}
        PROPERTIES COMPILE_OPTIONS "-O3;-mavx512f;-mavx512ifma;-mavx512vl;-mavx512dq;-mavx512bw")
    endif()
  endforeach()
endif()
