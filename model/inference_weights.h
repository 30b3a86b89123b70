// Inference-time weight layouts for the rollout engine on CPU: fused projections (q|k|v, gate|up) pre-packed for
// oneDNN's fp32 matmul. They cost one extra copy of the weights while a generation runs; with the "default" GEMM
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
/// linears); results differ from MKL's by fp32 rounding (≈ 1e-6 relative per product).
enum class InferenceGemm { kDefault, kOneDnnPacked };

struct InferenceOptions {
  InferenceGemm gemm = InferenceGemm::kDefault;
  int64_t rows_hint = 32;  // rows per decode step the packed layouts are tuned for (any count works)
};

/// "default" | "onednn" | "auto" (= onednn, which itself falls back to default off the CPU / for non-fp32
/// weights) → InferenceGemm; throws InvalidArgument naming the choices.
InferenceGemm parse_inference_gemm(const std::string& name);

/// A linear layer prepared for inference: y = x · Wᵀ + b with W [N,K].
struct PreparedLinear {
  torch::Tensor weight;  // [N,K] contiguous, or the oneDNN-packed form of it
  torch::Tensor bias;    // [N] or undefined
  bool packed = false;

  /// Builds from W [N,K] (and optional b [N]); kOneDnnPacked falls back to kDefault off the CPU, for non-fp32
  /// weights, or when this LibTorch lacks the oneDNN ops. `rows_hint` = the expected number of rows per call.
  static PreparedLinear make(const torch::Tensor& weight, const torch::Tensor& bias, InferenceGemm gemm,
                             int64_t rows_hint);
  bool defined() const { return weight.defined(); }
  /// True when make() would pack `weight` for oneDNN (CPU, fp32, ops present, gemm = kOneDnnPacked).
  static bool packs(const torch::Tensor& weight, InferenceGemm gemm);
  /// x [..., K] -> [..., N] in x's dtype.
  torch::Tensor operator()(const torch::Tensor& x) const;
};

}  // namespace r1kit::model
