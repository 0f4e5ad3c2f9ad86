# Instruction sets of the torch-free kernels (bnrecal_arith), included right after the target
# is defined. The library is built for the baseline CPU; ISA-specific translation units get their
# own flags here and are chosen at run time from the CPU's features (src/arith/dispatch_variants.h).
# BNRECAL_NATIVE=ON builds everything for this machine instead (the binary may not run elsewhere).
option(BNRECAL_NATIVE "Compile bnrecal_arith with -march=native" OFF)
if(BNRECAL_NATIVE)
  target_compile_options(bnrecal_arith PRIVATE -march=native)
endif()

include(CheckCXXCompilerFlag)
set(BNRECAL_AVX512VBMI_FLAGS -mavx512f -mavx512bw -mavx512vbmi)
set(BNRECAL_AVX512_FLAGS -mavx512f -mavx2 -mfma)
set(BNRECAL_AVX2_FLAGS -mavx2 -mfma)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64|i.86)$")
  check_cxx_compiler_flag("-mavx512f -mavx512bw -mavx512vbmi -mavx2 -mfma"
    BNRECAL_CXX_HAS_X86_ISA_FLAGS)
endif()
if(BNRECAL_CXX_HAS_X86_ISA_FLAGS)
  # The macro tells the dispatch tables that the x86 entries below were compiled with their flags.
  target_compile_definitions(bnrecal_arith PRIVATE BNRECAL_HAVE_X86_KERNELS)
  set_source_files_properties(${PROJECT_SOURCE_DIR}/src/arith/sysmt_expand_avx512.cpp
    ${PROJECT_SOURCE_DIR}/src/arith/im2col_avx512.cpp
    PROPERTIES COMPILE_OPTIONS "${BNRECAL_AVX512VBMI_FLAGS}")
  set_source_files_properties(${PROJECT_SOURCE_DIR}/src/arith/channel_moments_avx512.cpp
    ${PROJECT_SOURCE_DIR}/src/arith/activation_codes_avx512.cpp
    PROPERTIES COMPILE_OPTIONS "${BNRECAL_AVX512_FLAGS}")
  set_source_files_properties(${PROJECT_SOURCE_DIR}/src/arith/channel_moments_avx2.cpp
    PROPERTIES COMPILE_OPTIONS "${BNRECAL_AVX2_FLAGS}")
endif()
