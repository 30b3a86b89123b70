// r1kit's own float32 GEMM for inference on x86-64 CPUs with AVX2/FMA: y = x · Wᵀ (+ b) with W pre-packed into
// 16-column panels, tuned for the few-row products of decode steps (rows ≈ 1–64, the rollout engine's batch).
//
// Why: at 32 rows on the SmolLM2 layer shapes, LibTorch's MKL sgemm reached 58–100 GFLOP/s and oneDNN's packed
// matmul 101–112 on the project's 2-core AVX2 machine (peak ≈ 198, measured with a register-only FMA loop); this
// kernel — a 6 × 16 register tile over 256-deep, L1-resident blocks of each weight panel, streaming each panel once
// while prefetching the next — reached 106–135 in the same run (build/bench/r1kit_bench_gemm, 2026-11-30;
// BENCHMARKS.md). Results differ from MKL's by float32 summation order only (≈ 1e-6 relative).
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
