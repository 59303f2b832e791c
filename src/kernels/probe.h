// SPDX-License-Identifier: MIT
// Machine probes for benchmarks: a streaming read (memory bandwidth) and a register-only FMA loop
// (arithmetic peak), both on the SIMD target the other kernels dispatch to.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mamba {

// Wrapping sum of the little-endian u32 words in [data, data + bytes) (a tail of bytes % 4 is
// ignored). Reads every byte once, front to back, with vector loads: its speed over a buffer
// much larger than the last-level cache is the memory read bandwidth. `data` needs no alignment.
uint32_t ReadSumU32(const void* data, size_t bytes);
uint32_t ReadSumU32Ref(const void* data, size_t bytes);

// Runs `iters` iterations of independent F32 fused multiply-add chains held in registers and
// returns the floating-point operations executed (2 per lane per FMA). The result written to
// *sink keeps the compiler from dropping the loop.
double FmaPeakLoop(int64_t iters, float* sink);

}  // namespace mamba
