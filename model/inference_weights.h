// Inference-time weight layouts for the rollout engine on CPU: fused projections (q|k|v, gate|up) pre-packed for
// r1kit's AVX2 GEMM (model/panel_gemm.h) or oneDNN's fp32 matmul. They cost one extra copy of the weights while a generation runs; with the "default" GEMM
// (and on CUDA, or for bf16/fp16 weights) nothing is prepared and the module parameters are used as they are. Built from the live parameters when a generation starts and
// dropped when it ends (InferenceScope), so the optimizer never updates a stale copy; used only when autograd is
// off, so training and the trainer's log-prob recomputation always run the plain parameters.
//
// Why: a decode step multiplies [rows, C] by every weight; at rows ≈ 32 fewer, wider GEMMs use the cores better
// (bench/, BENCHMARKS.md "where the time goes"), and oneDNN's packed-weight kernel runs the 49k-wide lm_head about
// twice as fast as MKL's sgemm on the project's CPU.
#pragma once

#include <torch/torch.h>

#include <string>

namespace r1kit::model {

/// Which GEMM a prepared linear uses. kDefault: torch::linear (MKL on CPU, cuBLAS on CUDA), numerically the same
/// kernels as training. kOneDnnPacked (CPU fp32 only): weights reordered once for oneDNN
/// (mkldnn::_reorder_linear_weight / _linear_pointwise, the kernels PyTorch's Inductor uses for frozen CPU
/// linears). kAvx2Panels (CPU fp32 on AVX2/FMA CPUs): r1kit's panel GEMM (model/panel_gemm.h), the fastest of
/// the three at decode batch sizes on the project's CPU. Packed results differ from MKL's by fp32 rounding
/// (≈ 1e-6 relative per product).
enum class InferenceGemm { kDefault, kOneDnnPacked, kAvx2Panels };

struct InferenceOptions {
  InferenceGemm gemm = InferenceGemm::kDefault;
  int64_t rows_hint = 32;  // rows per decode step the packed layouts are tuned for (any count works)
};

/// "default" | "onednn" | "avx2" | "auto" (= avx2 on AVX2/FMA CPUs, else onednn) → InferenceGemm; the packed
/// kinds fall back to default off the CPU, for non-fp32 weights, or where their kernels are missing. Throws
/// InvalidArgument naming the choices.
InferenceGemm parse_inference_gemm(const std::string& name);

/// A linear layer prepared for inference: y = x · Wᵀ + b with W [N,K].
struct PreparedLinear {
  torch::Tensor weight;  // [N,K] contiguous, or its oneDNN-packed form, or panels [ceil(N/16), K, 16]
  torch::Tensor bias;    // [N] or undefined
  InferenceGemm kind = InferenceGemm::kDefault;  // what `weight` holds (after any fallback)
  int64_t out_features = 0;                      // N
  bool packed() const { return kind != InferenceGemm::kDefault; }

  /// Builds from W [N,K] (and optional b [N]); a packed kind falls back to kDefault off the CPU, for non-fp32
  /// weights, or without its kernels (oneDNN ops in this LibTorch / AVX2+FMA in this CPU). `rows_hint` = the
  /// expected number of rows per call (oneDNN tunes its layout for it).
  static PreparedLinear make(const torch::Tensor& weight, const torch::Tensor& bias, InferenceGemm gemm,
                             int64_t rows_hint);
  bool defined() const { return weight.defined(); }
  /// True when make() would pack `weight` (CPU, fp32, a packed gemm whose kernels are present).
  static bool packs(const torch::Tensor& weight, InferenceGemm gemm);
  /// x [..., K] -> [..., N] in x's dtype.
  torch::Tensor operator()(const torch::Tensor& x) const;
};

}  // namespace r1kit::model
