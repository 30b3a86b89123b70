// r1kit's own float32 GEMM for inference on x86-64 CPUs with AVX2/FMA: y = x · Wᵀ (+ b) with W pre-packed into
// 16-column panels, tuned for the few-row products of decode steps (rows ≈ 1–64, the rollout engine's batch).
//
// Why: at 32 rows, LibTorch's MKL sgemm and oneDNN's packed matmul reach 70–100 GFLOP/s on the project's 2-core
// AVX2 machine (peak ≈ 198); this kernel, a 6 × 16 register tile over 256-deep blocks of each weight panel (L1-resident), streaming each panel once while
// prefetching the next, reaches 95–125 on the same shapes (bench/bench_gemm.cpp; BENCHMARKS.md). Results differ
// from MKL's by float32 summation order only (≈ 1e-6 relative).
//
// Layout of the packed weight: [ceil(N/16), K, 16] float32 — panel p holds output columns 16p..16p+15 (zero-padded
// past N), k-major, so one k step of the tile reads 64 contiguous bytes.
#pragma once

#include <torch/torch.h>

namespace r1kit::model::panel_gemm {

/// True on CPUs with AVX2 and FMA (the functions below throw InvalidArgument elsewhere).
bool available();

/// Packs W [N,K] float32 (CPU) into panels [ceil(N/16), K, 16]. Throws InvalidArgument for other dtypes/devices.
torch::Tensor pack(const torch::Tensor& weight);

/// x [..., K] float32 → [..., N] = x · Wᵀ + bias, with `panels` from pack(W) (W [N,K]) and bias [N] or undefined.
/// Parallel over panels (at::parallel_for). Throws InvalidArgument on shape or dtype mismatch.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& panels, int64_t N, const torch::Tensor& bias);

}  // namespace r1kit::model::panel_gemm
