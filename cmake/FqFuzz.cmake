# FQ_FUZZ=ON: libFuzzer targets fuzz_<reader> (tests/fuzz/, docs/verification.md "Fuzzing").
# Every fqsim library is compiled with coverage instrumentation plus ASan and UBSan, so the
# fuzzer sees the readers' branches and any memory error or undefined behaviour is a crash.
# libFuzzer comes with clang (Debian: clang-14 and libclang-rt-14-dev); configure with
# CXX=clang++. Only the fuzz_targets target (tests/fuzz/CMakeLists.txt) and the unit and engine
# tests are meant to be built in such a tree: `cmake --build build-fuzz --target fuzz_targets
# fq_unit_tests fq_sim_tests` (.ci/run step 2, then scripts/ci-fuzz.sh).
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "FQ_FUZZ=ON needs clang (libFuzzer): configure a fresh build directory with "
                      "CXX=clang++ (found ${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER})")
endif()
if(FQ_SANITIZE)
  message(FATAL_ERROR "FQ_FUZZ=ON already builds with ASan and UBSan: leave FQ_SANITIZE off")
endif()
target_compile_options(fq_project_options INTERFACE -fsanitize=fuzzer-no-link,address,undefined
  -fno-sanitize-recover=undefined -fno-omit-frame-pointer -gline-tables-only)
target_link_options(fq_project_options INTERFACE -fsanitize=address,undefined)

