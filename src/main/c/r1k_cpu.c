/* Which kernel variant this CPU runs, detected once by cpuid (the only global state of the library). */
#include "r1k.h"

#if defined(__x86_64__) || defined(_M_X64)
#define R1K_X86 1
#endif

static int detect(void) {
#ifdef R1K_X86
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))) {
        return R1K_SCALAR;
    }
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512vnni") && r1k_kernels_avx512_vnni() != 0) {
        return R1K_AVX512_VNNI;
    }
    return r1k_kernels_avx2() != 0 ? R1K_AVX2 : R1K_SCALAR;
#else
    return R1K_SCALAR;
#endif
}

int r1k_best_isa(void) {
    static int best = -1; /* benign race: every thread computes the same value */
    if (best < 0) {
        best = detect();
    }
    return best;
}

const r1k_kernels *r1k_kernels_for(int isa) {
    if (isa < R1K_SCALAR || isa > r1k_best_isa()) {
        return 0;
    }
    switch (isa) {
        case R1K_SCALAR: return r1k_kernels_scalar();
        case R1K_AVX2: return r1k_kernels_avx2();
        case R1K_AVX512_VNNI: return r1k_kernels_avx512_vnni();
        default: return 0;
    }
}

const char *r1k_isa_name(int isa) {
    switch (isa) {
        case R1K_SCALAR: return "scalar";
        case R1K_AVX2: return "avx2";
        case R1K_AVX512_VNNI: return "avx512-vnni";
        default: return "unknown";
    }
}

#ifndef R1K_X86
const r1k_kernels *r1k_kernels_avx2(void) { return 0; }
const r1k_kernels *r1k_kernels_avx512_vnni(void) { return 0; }
#endif
