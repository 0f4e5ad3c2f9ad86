# BNRECAL_FUZZ: builds the fuzz targets (fuzz/CMakeLists.txt, a separate clang build of the
# parsers under ASan/UBSan that links this build's libraries) as part of `cmake --build`, and adds
# one ctest per target that fuzzes it for BNRECAL_FUZZ_SECONDS from its committed seed corpus.
# On by default when clang++ with libFuzzer is installed (scripts/setup.sh installs it).
find_program(BNRECAL_FUZZ_CXX NAMES clang++ clang++-14)
set(fuzz_default OFF)
if(BNRECAL_FUZZ_CXX)
  set(probe ${CMAKE_BINARY_DIR}/CMakeFiles/fuzz_probe)
  file(WRITE ${probe}.cpp "extern \"C\" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n")
  execute_process(COMMAND ${BNRECAL_FUZZ_CXX} -fsanitize=fuzzer,address,undefined ${probe}.cpp -o ${probe}
                  RESULT_VARIABLE probe_result OUTPUT_QUIET ERROR_QUIET)
  if(probe_result EQUAL 0)
    set(fuzz_default ON)
  endif()
endif()
option(BNRECAL_FUZZ "Build the fuzz targets (clang++ with libFuzzer) and run each briefly in ctest" ${fuzz_default})
set(BNRECAL_FUZZ_SECONDS 20 CACHE STRING "Seconds each fuzz target runs in ctest")

if(BNRECAL_FUZZ)
  if(NOT BNRECAL_FUZZ_CXX)
    message(FATAL_ERROR "BNRECAL_FUZZ needs clang++ (apt-get install clang libclang-rt-14-dev)")
  endif()
  include(ExternalProject)
  ExternalProject_Add(bnrecal_fuzz_targets
    SOURCE_DIR ${CMAKE_SOURCE_DIR}/fuzz
    BINARY_DIR ${CMAKE_BINARY_DIR}/fuzz
    CMAKE_ARGS -DCMAKE_CXX_COMPILER=${BNRECAL_FUZZ_CXX} -DCMAKE_BUILD_TYPE=RelWithDebInfo
               -DBNRECAL_MAIN_BUILD=${CMAKE_BINARY_DIR}
    BUILD_ALWAYS ON
    INSTALL_COMMAND ""
    DEPENDS bnrecal_core bnrecal_arith bnrecal_data bnrecal_nn bnrecal_onnx bnrecal_models bnrecal_recal bnrecal_eval
            bnrecal_train bnrecal_study)
  if(BNRECAL_BUILD_TESTS)
    file(GLOB fuzz_sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/fuzz/fuzz_*.cpp)
    foreach(source ${fuzz_sources})
      get_filename_component(target ${source} NAME_WE)
      add_test(NAME fuzz.${target}
               COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/run_fuzzers.sh ${BNRECAL_FUZZ_SECONDS} ${target})
      set_tests_properties(fuzz.${target} PROPERTIES ENVIRONMENT "FUZZ_DIR=${CMAKE_BINARY_DIR}/fuzz"
                           TIMEOUT 300 LABELS fuzz)
    endforeach()
  endif()
else()
  message(STATUS "fuzz targets not built (BNRECAL_FUZZ=OFF; needs clang++ with libFuzzer)")
endif()
