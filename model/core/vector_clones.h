// FQ_VECTOR_CLONES: GCC builds an AVX-512 (x86-64-v4), an AVX2 (x86-64-v3) and a baseline clone of
// a function and picks one when the program loads, so a loop vectorises to the CPU's width without
// a -march flag that would tie the binaries to the build machine. Only for code whose result does
// not depend on the clone (integer work, exactly rounded IEEE operations, or an estimate that never
// decides a result). Off under clang and the sanitizers, which do not support it the same way.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define FQ_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FQ_VECTOR_CLONES
#endif
